// The CUDA backend: every CUDA op against the CPU op on random inputs with odd sizes (fp32: max |diff|
// <= 1e-5 max |ref|; bf16 GEMM inputs: relative L2 <= 1e-2), the DiT / Gemma-2 / LongSANA goldens on
// CUDA fp32 (1e-4), and the embedded toy model end to end with the transformer and text encoder on the
// GPU. Without a CUDA device every test here is reported as skipped (CTest counts it as skipped).
// The CPU-side behaviour of a missing GPU is tested at the end and runs everywhere.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include "core/context.h"
#include "core/device_runtime.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "models/gemma2/gemma2.h"
#include "models/sana_dit/sana_dit.h"
#include "models/ltx2_vae/ltx2_vae.h"
#include "models/sana_video2/release.h"
#include "models/sana_video2/transformer.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/ops.h"
#include "pipeline/long_video.h"
#include "pipeline/sana_video_pipeline.h"
#include "test_util.h"

namespace sv {
namespace {

#define SV_REQUIRE_CUDA() \
  if (cuda_device_count() == 0) GTEST_SKIP() << "skipped: no CUDA device"

Tensor rnd(const Shape& s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (float& x : v) x = u(g);
  return Tensor::from_vector(v, s);
}

double rel_l2(const Tensor& got, const Tensor& ref) {
  const auto a = got.to_vector(), b = ref.to_vector();
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * double(a[i] - b[i]), den += double(b[i]) * b[i];
  return std::sqrt(num / std::max(den, 1e-30));
}

// Runs `f` once with a CPU context on host inputs and once with a CUDA context (fp32 or bf16) on the
// same inputs uploaded, and compares.
struct Both {
  Context cpu{Device::CPU, 2};
  Context gpu;
  explicit Both(DType dt = DType::F32) : gpu(Device::CUDA, 2, 0, dt) {}
  Tensor up(const Tensor& t) { return gpu.to_device(t); }
};

#define SV_EXPECT_CUDA_F32(got, ref, what) SV_EXPECT_CLOSE((got).to_host(), (ref), 1e-5, what)

TEST(CudaOps, LinearFp32AndBf16) {
  SV_REQUIRE_CUDA();
  for (DType dt : {DType::F32, DType::BF16}) {
    Both b(dt);
    const Tensor x = rnd({3, 37, 53}, 1), w = rnd({29, 53}, 2), bias = rnd({29}, 3);
    for (ops::Act act : {ops::Act::None, ops::Act::SiLU, ops::Act::GeluTanh, ops::Act::ReLU}) {
      const Tensor ref = ops::linear(b.cpu, x, w, bias, act);
      // A bf16 context uploads matrices as bf16, as the weight binder does.
      const Tensor wd = dt == DType::BF16 ? b.up(w.to(DType::BF16)) : b.up(w);
      const Tensor got = ops::linear(b.gpu, b.up(x), wd, b.up(bias), act);
      if (dt == DType::F32) SV_EXPECT_CUDA_F32(got, ref, "linear fp32");
      else EXPECT_LE(rel_l2(got.to_host(), ref), 1e-2) << "linear bf16 act " << static_cast<int>(act);
    }
    const Tensor ref = ops::linear(b.cpu, x, w, Tensor());
    const Tensor got = ops::linear(b.gpu, b.up(x), b.up(w), Tensor());
    if (dt == DType::F32) SV_EXPECT_CUDA_F32(got, ref, "linear no bias");
    else EXPECT_LE(rel_l2(got.to_host(), ref), 1e-2);  // fp32 weights in a bf16 context: TF32
  }
}

TEST(CudaOps, Pointwise) {
  SV_REQUIRE_CUDA();
  Both b;
  const Tensor x = rnd({5, 7, 33}, 4, -4, 4), y = rnd({5, 7, 33}, 5), r = rnd({7, 1}, 6);
  for (ops::Act act : {ops::Act::None, ops::Act::SiLU, ops::Act::GeluTanh, ops::Act::ReLU}) {
    SV_EXPECT_CUDA_F32(ops::activation(b.gpu, b.up(x), act), ops::activation(b.cpu, x, act), "activation");
    SV_EXPECT_CUDA_F32(ops::mul_act(b.gpu, b.up(x), b.up(y), act), ops::mul_act(b.cpu, x, y, act), "mul_act");
  }
  SV_EXPECT_CUDA_F32(ops::add(b.gpu, b.up(x), b.up(y)), ops::add(b.cpu, x, y), "add");
  SV_EXPECT_CUDA_F32(ops::add(b.gpu, b.up(x), b.up(r)), ops::add(b.cpu, x, r), "add broadcast");
  SV_EXPECT_CUDA_F32(ops::clamp(b.gpu, b.up(x), -1.5f, 2.0f), ops::clamp(b.cpu, x, -1.5f, 2.0f), "clamp");
  // Gated residual with per-batch and per-token gates taken as strided views of a [B, T, 6, D] table.
  for (int64_t T : {int64_t(1), int64_t(7)}) {
    const Tensor table = rnd({5, T, 6, 33}, 7);
    Tensor xc = x.clone(), xg = b.up(x);
    ops::add_gated_(b.cpu, xc, table.select(2, 4), y);
    ops::add_gated_(b.gpu, xg, b.up(table).select(2, 4), b.up(y));
    SV_EXPECT_CUDA_F32(xg, xc, "add_gated_");
  }
}

TEST(CudaOps, Norms) {
  SV_REQUIRE_CUDA();
  Both b;
  const Tensor x = rnd({3, 11, 301}, 8, -3, 5), w = rnd({301}, 9), bias = rnd({301}, 10);
  SV_EXPECT_CUDA_F32(ops::layer_norm(b.gpu, b.up(x), b.up(w), b.up(bias), 1e-6f), ops::layer_norm(b.cpu, x, w, bias, 1e-6f),
                     "layer_norm");
  SV_EXPECT_CUDA_F32(ops::layer_norm(b.gpu, b.up(x), Tensor(), Tensor(), 1e-6f),
                     ops::layer_norm(b.cpu, x, Tensor(), Tensor(), 1e-6f), "layer_norm plain");
  SV_EXPECT_CUDA_F32(ops::rms_norm(b.gpu, b.up(x), b.up(w), 1e-5f), ops::rms_norm(b.cpu, x, w, 1e-5f), "rms_norm");
  for (int64_t T : {int64_t(1), int64_t(11)}) {
    const Tensor table = rnd({3, T, 6, 301}, 11);
    const Tensor td = b.up(table);
    SV_EXPECT_CUDA_F32(
        ops::layer_norm_modulate(b.gpu, b.up(x), b.up(w), b.up(bias), td.select(2, 0), td.select(2, 1), 1e-6f),
        ops::layer_norm_modulate(b.cpu, x, w, bias, table.select(2, 0), table.select(2, 1), 1e-6f), "ln_modulate");
    SV_EXPECT_CUDA_F32(
        ops::layer_norm_modulate(b.gpu, b.up(x), Tensor(), Tensor(), td.select(2, 3), td.select(2, 4), 1e-6f),
        ops::layer_norm_modulate(b.cpu, x, Tensor(), Tensor(), table.select(2, 3), table.select(2, 4), 1e-6f),
        "ln_modulate plain");
  }
  const Tensor v = rnd({2, 5, 3, 7, 9}, 12), g = rnd({5}, 13);
  SV_EXPECT_CUDA_F32(ops::channel_rms_norm(b.gpu, b.up(v), b.up(g)), ops::channel_rms_norm(b.cpu, v, g), "channel_rms");
  SV_EXPECT_CUDA_F32(ops::upsample_nearest2x(b.gpu, b.up(v)), ops::upsample_nearest2x(b.cpu, v), "upsample");
}

TEST(CudaOps, EmbeddingsAndLayouts) {
  SV_REQUIRE_CUDA();
  Both b;
  const Tensor t = Tensor::from_vector({0.0f, 1.0f, 487.0f, 999.0f, 12.5f}, {5});
  SV_EXPECT_CUDA_F32(ops::timestep_embedding(b.gpu, b.up(t), 256, true, 0.0f),
                     ops::timestep_embedding(b.cpu, t, 256, true, 0.0f), "timestep_embedding");
  SV_EXPECT_CUDA_F32(ops::timestep_embedding(b.gpu, b.up(t), 30, false, 1.0f),
                     ops::timestep_embedding(b.cpu, t, 30, false, 1.0f), "timestep_embedding shift");
  Tensor ids = Tensor::empty({2, 9}, DType::I64);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int64_t>()[i] = (i * 7) % 41;
  const Tensor table = rnd({41, 19}, 14);
  SV_EXPECT_CUDA_F32(ops::embedding(b.gpu, ids, b.up(table.to(DType::BF16)), 3.5f),
                     ops::embedding(b.cpu, ids, table.to(DType::BF16), 3.5f), "embedding bf16 table");
  EXPECT_THROW(ops::embedding(b.gpu, Tensor::zeros({1, 1}, DType::I64).to(DType::I64), b.up(rnd({0, 3}, 1)), 1.0f),
               Error);
  const Tensor x = rnd({2, 13, 3 * 10}, 15), c = rnd({13, 5}, 16), s = rnd({13, 5}, 17);
  SV_EXPECT_CUDA_F32(ops::rope_half(b.gpu, b.up(x), b.up(c), b.up(s), 3), ops::rope_half(b.cpu, x, c, s, 3), "rope_half");
  const Tensor v = rnd({2, 3, 5, 6, 10}, 18), w = rnd({7, 3, 1, 2, 2}, 19), bias = rnd({7}, 20);
  SV_EXPECT_CUDA_F32(ops::patch_embed(b.gpu, b.up(v), b.up(w), b.up(bias)), ops::patch_embed(b.cpu, v, w, bias),
                     "patch_embed");
  const Tensor tok = rnd({2, 5 * 3 * 5, 2 * 2 * 3}, 21);
  SV_EXPECT_CUDA_F32(ops::unpatchify(b.gpu, b.up(tok), 5, 3, 5, 1, 2, 2), ops::unpatchify(b.cpu, tok, 5, 3, 5, 1, 2, 2),
                     "unpatchify");
  const Tensor a = rnd({2, 3, 4}, 22), a2 = rnd({2, 5, 4}, 23);
  SV_EXPECT_CUDA_F32(ops::cat(b.gpu, {b.up(a), b.up(a2)}, 1), ops::cat(b.cpu, {a, a2}, 1), "cat");
  SV_EXPECT_CUDA_F32(b.up(a2).narrow(1, 1, 3).contiguous(), a2.narrow(1, 1, 3).contiguous(), "strided copy");
  SV_EXPECT_CUDA_F32(b.up(a2).to(DType::BF16).to(DType::F32), a2.to(DType::BF16).to(DType::F32), "bf16 round trip");
}

TEST(CudaOps, SoftmaxAttention) {
  SV_REQUIRE_CUDA();
  Both b;
  const Tensor q = rnd({2, 37, 3 * 12}, 24), k = rnd({2, 23, 3 * 12}, 25), v = rnd({2, 23, 3 * 12}, 26);
  Tensor bias = Tensor::zeros({2, 23});
  for (int64_t l = 17; l < 23; ++l) bias.f32()[23 + l] = -10000.0f;
  SV_EXPECT_CUDA_F32(ops::sdpa(b.gpu, b.up(q), b.up(k), b.up(v), b.up(bias), 3), ops::sdpa(b.cpu, q, k, v, bias, 3), "sdpa");
  SV_EXPECT_CUDA_F32(ops::sdpa(b.gpu, b.up(q), b.up(k), b.up(v), Tensor(), 3), ops::sdpa(b.cpu, q, k, v, Tensor(), 3),
                     "sdpa no bias");
  // Gemma-style: 4 query heads on 2 kv heads, soft-cap, sliding window 3, right padding longer than the
  // window (rows with no visible key average all keys).
  const int64_t L = 11, Dh = 8;
  const Tensor gq = rnd({2, L, 4 * Dh}, 27, -2, 2), gk = rnd({2, L, 2 * Dh}, 28, -2, 2), gv = rnd({2, L, 2 * Dh}, 29);
  Tensor mask = Tensor::zeros({2, L});
  for (int64_t j = 0; j < L; ++j) mask.f32()[j] = 1, mask.f32()[L + j] = j < 5 ? 1.0f : 0.0f;
  for (int64_t window : {int64_t(0), int64_t(3)})
    for (float cap : {0.0f, 5.0f})
      SV_EXPECT_CUDA_F32(ops::causal_attention(b.gpu, b.up(gq), b.up(gk), b.up(gv), b.up(mask), 4, 2, 0.35f, cap, window),
                         ops::causal_attention(b.cpu, gq, gk, gv, mask, 4, 2, 0.35f, cap, window), "causal_attention");
}

// The fused bf16 kernel (flash_attention.cu) that bf16 contexts use for softmax attention without a
// bias: partial query and key tiles, every head dim it takes, and SANA-Video 2.0's head 256 over 4099
// tokens (65 key tiles), against the CPU's fp32 attention.
TEST(CudaOps, FlashAttentionBf16) {
  SV_REQUIRE_CUDA();
  Both b(DType::BF16);
  for (const int64_t C : {32, 64, 128, 256}) {
    const int64_t H = 2, N = 131, L = 197;
    const Tensor q = rnd({2, N, H * C}, 90, -3, 3), k = rnd({2, L, H * C}, 91), v = rnd({2, L, H * C}, 92);
    const Tensor got = ops::sdpa(b.gpu, b.up(q), b.up(k), b.up(v), Tensor(), H).to_host();
    EXPECT_LE(rel_l2(got, ops::sdpa(b.cpu, q, k, v, Tensor(), H)), 1e-2) << "head dim " << C;
  }
  const Tensor q = rnd({1, 4099, 256}, 93, -3, 3), k = rnd({1, 4099, 256}, 94), v = rnd({1, 4099, 256}, 95);
  EXPECT_LE(rel_l2(ops::sdpa(b.gpu, b.up(q), b.up(k), b.up(v), Tensor(), 1).to_host(), ops::sdpa(b.cpu, q, k, v, Tensor(), 1)),
            1e-2)
      << "4099 tokens, head dim 256";
}

TEST(CudaOps, LinearAttentionThreeForms) {
  SV_REQUIRE_CUDA();
  Both b;
  const int64_t B = 2, N = 45, H = 3, C = 10;
  const Tensor q = rnd({B, N, H * C}, 30), k = rnd({B, N, H * C}, 31), v = rnd({B, N, H * C}, 32);
  const Tensor c = rnd({N, C / 2}, 33), s = rnd({N, C / 2}, 34);
  const Tensor qd = b.up(q), kd = b.up(k), vd = b.up(v), cd = b.up(c), sd = b.up(s);
  SV_EXPECT_CUDA_F32(ops::linear_attention(b.gpu, qd, kd, vd, cd, sd, H), ops::linear_attention(b.cpu, q, k, v, c, s, H),
                     "linear_attention");
  const Tensor vk_prev = rnd({B, H, C, C}, 35, 0, 3), ks_prev = rnd({B, H, C}, 36, 0, 3);
  Tensor vk_c, ks_c, vk_g, ks_g;
  const Tensor ref = ops::linear_attention_cached(b.cpu, q, k, v, c, s, H, vk_prev, ks_prev, &vk_c, &ks_c);
  const Tensor got = ops::linear_attention_cached(b.gpu, qd, kd, vd, cd, sd, H, b.up(vk_prev), b.up(ks_prev), &vk_g, &ks_g);
  SV_EXPECT_CUDA_F32(got, ref, "cached");
  SV_EXPECT_CUDA_F32(vk_g, vk_c, "cached vk_cur");
  SV_EXPECT_CUDA_F32(ks_g, ks_c, "cached ksum_cur");
  const std::vector<int64_t> starts{0, 14, 30};
  SV_EXPECT_CUDA_F32(ops::linear_attention_chunked(b.gpu, qd, kd, vd, cd, sd, H, starts),
                     ops::linear_attention_chunked(b.cpu, q, k, v, c, s, H, starts), "chunked");
}

TEST(CudaOps, MixFfnConvs) {
  SV_REQUIRE_CUDA();
  for (DType dt : {DType::F32, DType::BF16}) {
    Both b(dt);
    const Tensor x = rnd({3, 5, 7, 2 * 11}, 37), w = rnd({22, 1, 3, 3}, 38), bias = rnd({22}, 39);
    const Tensor dw_ref = ops::depthwise_conv3x3_glu(b.cpu, x, w, bias);
    const Tensor dw = ops::depthwise_conv3x3_glu(b.gpu, b.up(x), b.up(w), b.up(bias));
    if (dt == DType::F32) SV_EXPECT_CUDA_F32(dw, dw_ref, "depthwise glu");
    else EXPECT_LE(rel_l2(dw.to_host(), dw_ref), 1e-5);  // fp32 in any context
    const Tensor f = rnd({2, 7, 6, 13}, 40), tw = rnd({13, 13, 3, 1}, 41, -0.3f, 0.3f), left = rnd({2, 1, 6, 13}, 42);
    const Tensor twd = dt == DType::BF16 ? b.up(tw.to(DType::BF16)) : b.up(tw);
    for (bool with_left : {false, true})
      for (const std::vector<int64_t>& cut : {std::vector<int64_t>{}, std::vector<int64_t>{3, 5}}) {
        const Tensor ref = ops::temporal_conv3_residual(b.cpu, f, tw, with_left ? left : Tensor(), cut);
        const Tensor got = ops::temporal_conv3_residual(b.gpu, b.up(f), twd, with_left ? b.up(left) : Tensor(), cut);
        if (dt == DType::F32) SV_EXPECT_CUDA_F32(got, ref, "temporal conv");
        else EXPECT_LE(rel_l2(got.to_host(), ref), 1e-2) << "temporal conv bf16";
      }
  }
}

TEST(CudaOps, Conv3d) {
  SV_REQUIRE_CUDA();
  for (DType dt : {DType::F32, DType::BF16}) {
    Both b(dt);
    struct Case {
      Shape x, w;
      std::array<int64_t, 3> stride, pad;
    };
    const Case cases[] = {{{2, 5, 4, 9, 11}, {7, 5, 3, 3, 3}, {1, 1, 1}, {0, 1, 1}},
                          {{1, 6, 3, 10, 13}, {4, 6, 1, 3, 3}, {1, 2, 2}, {0, 0, 0}},
                          {{1, 3, 5, 6, 7}, {8, 3, 3, 1, 1}, {2, 1, 1}, {0, 0, 0}},
                          {{2, 9, 2, 5, 6}, {3, 9, 1, 1, 1}, {1, 1, 1}, {0, 0, 0}}};
    uint32_t seed = 60;
    for (const Case& c : cases) {
      const Tensor x = rnd(c.x, seed++), w = rnd(c.w, seed++, -0.5f, 0.5f), bias = rnd({c.w[0]}, seed++);
      const Tensor ref = ops::conv3d(b.cpu, x, w, bias, c.stride, c.pad);
      const Tensor wd = dt == DType::BF16 ? b.up(w.to(DType::BF16)) : b.up(w);
      const Tensor got = ops::conv3d(b.gpu, b.up(x), wd, b.up(bias), c.stride, c.pad).to_host();
      ASSERT_EQ(got.shape(), ref.shape());
      if (dt == DType::F32) SV_EXPECT_CLOSE(got, ref, 1e-5, "conv3d " + shape_str(c.w));
      else EXPECT_LE(rel_l2(got, ref), 1e-2) << "conv3d bf16 " << shape_str(c.w);
    }
  }
}

// The LTX-2 VAE's ops: reflect-padded conv, per-channel RMS + SiLU, the (un)shuffles in both sub-pixel
// orders, channel group means and tile blending.
TEST(CudaOps, Ltx2VaeOps) {
  SV_REQUIRE_CUDA();
  for (DType dt : {DType::F32, DType::BF16}) {
    Both b(dt);
    const Tensor x = rnd({2, 6, 4, 5, 7}, 80), w = rnd({5, 6, 3, 3, 3}, 81, -0.5f, 0.5f), bias = rnd({5}, 82);
    const Tensor wd = dt == DType::BF16 ? b.up(w.to(DType::BF16)) : b.up(w);
    const Tensor ref = ops::conv3d(b.cpu, x, w, bias, {1, 1, 1}, {0, 1, 1}, ops::Padding::Reflect);
    const Tensor got = ops::conv3d(b.gpu, b.up(x), wd, b.up(bias), {1, 1, 1}, {0, 1, 1}, ops::Padding::Reflect);
    if (dt == DType::F32) SV_EXPECT_CUDA_F32(got, ref, "conv3d reflect");
    else EXPECT_LE(rel_l2(got.to_host(), ref), 1e-2) << "conv3d reflect bf16";
  }
  Both b;
  const Tensor x = rnd({2, 6, 4, 6, 8}, 83);
  SV_EXPECT_CUDA_F32(ops::channel_rms_norm_act(b.gpu, b.up(x), 1e-8f, ops::Act::SiLU),
                     ops::channel_rms_norm_act(b.cpu, x, 1e-8f, ops::Act::SiLU), "rms silu");
  for (bool wm : {false, true})
    for (const std::array<int64_t, 3>& f : {std::array<int64_t, 3>{1, 2, 2}, {2, 1, 1}, {2, 2, 2}, {1, 2, 4}}) {
      const Tensor s2d = ops::space_to_depth3d(b.cpu, x, f, wm);
      SV_EXPECT_CUDA_F32(ops::space_to_depth3d(b.gpu, b.up(x), f, wm), s2d, "space_to_depth3d");
      SV_EXPECT_CUDA_F32(ops::depth_to_space3d(b.gpu, b.up(s2d), f, wm), x, "depth_to_space3d round trip");
    }
  SV_EXPECT_CUDA_F32(ops::channel_group_mean(b.gpu, b.up(x), 3), ops::channel_group_mean(b.cpu, x, 3), "group mean");
  for (int64_t dim : {int64_t(3), int64_t(4)}) {
    const Tensor src = rnd({2, 6, 4, 9, 10}, 84);
    const Tensor a = dim == 3 ? src.narrow(4, 0, 8).contiguous() : src.narrow(3, 0, 6).contiguous();
    Tensor dc = x.clone(), dg = b.up(x);
    ops::blend_edge_(b.cpu, dc, a, 3, dim);
    ops::blend_edge_(b.gpu, dg, b.up(a), 3, dim);
    SV_EXPECT_CUDA_F32(dg, dc, "blend_edge_");
  }
}

TEST(CudaOps, SanaVideo2Ops) {
  SV_REQUIRE_CUDA();
  Both b;
  // B 2, N 35 (7 frames of 5 tokens), 3 heads of 10 lanes.
  const int64_t B = 2, N = 35, H = 3, C = 10, D = H * C;
  const Tensor q = rnd({B, N, D}, 40), k = rnd({B, N, D}, 41), v = rnd({B, N, D}, 42), beta = rnd({B, N, H}, 43, -3, 3);
  const Tensor cs = rnd({N, C / 2}, 44), sn = rnd({N, C / 2}, 45);
  SV_EXPECT_CUDA_F32(ops::rope_pairs(b.gpu, b.up(q), b.up(cs), b.up(sn), H), ops::rope_pairs(b.cpu, q, cs, sn, H),
                     "rope_pairs");
  SV_EXPECT_CUDA_F32(ops::gated_linear_attention(b.gpu, b.up(q), b.up(k), b.up(v), b.up(beta), H),
                     ops::gated_linear_attention(b.cpu, q, k, v, beta, H), "gated linear attention");
  SV_EXPECT_CUDA_F32(
      ops::gated_linear_attention(b.gpu, b.up(q), b.up(k), b.up(v), b.up(beta), H, b.up(v), b.up(q), 1e-8f),
      ops::gated_linear_attention(b.cpu, q, k, v, beta, H, v, q, 1e-8f), "gated linear attention, normaliser");
  const Tensor w = rnd({3, D}, 46);
  const Tensor lg = ops::rms_dot(b.cpu, q, w, 1e-6f);
  SV_EXPECT_CUDA_F32(ops::rms_dot(b.gpu, b.up(q), b.up(w), 1e-6f), lg, "rms_dot");
  const Tensor lk = ops::rms_dot(b.cpu, k, w, 1e-6f), lv = ops::rms_dot(b.cpu, v, w, 1e-6f);
  for (int64_t col = 0; col < 3; ++col)
    SV_EXPECT_CUDA_F32(ops::softmax_mix(b.gpu, {b.up(q), b.up(k), b.up(v)}, {b.up(lg), b.up(lk), b.up(lv)}, col),
                       ops::softmax_mix(b.cpu, {q, k, v}, {lg, lk, lv}, col), "softmax_mix");
  // Per-frame modulation: 7 rows, each serving 5 consecutive tokens.
  const Tensor table = rnd({B, 7, 6, D}, 47);
  const Tensor td = b.up(table);
  SV_EXPECT_CUDA_F32(ops::layer_norm_modulate(b.gpu, b.up(q), Tensor(), Tensor(), td.select(2, 0), td.select(2, 1), 1e-6f),
                     ops::layer_norm_modulate(b.cpu, q, Tensor(), Tensor(), table.select(2, 0), table.select(2, 1), 1e-6f),
                     "ln_modulate per frame");
  Tensor xc = q.clone(), xg = b.up(q);
  ops::add_gated_(b.cpu, xc, table.select(2, 2), k);
  ops::add_gated_(b.gpu, xg, td.select(2, 2), b.up(k));
  SV_EXPECT_CUDA_F32(xg, xc, "add_gated_ per frame");
}

TEST(CudaOps, SamplerArithmetic) {
  SV_REQUIRE_CUDA();
  Both b;
  const Tensor x = rnd({1, 4, 3, 5, 7}, 43), m0 = rnd({1, 4, 3, 5, 7}, 44), m1 = rnd({1, 4, 3, 5, 7}, 45);
  const Tensor mt = rnd({1, 4, 3, 5, 7}, 46), v2 = rnd({2, 4, 3, 5, 7}, 47);
  SV_EXPECT_CUDA_F32(ops::axpby(b.gpu, 0.7f, b.up(x), 0.3f, b.up(m0)), ops::axpby(b.cpu, 0.7f, x, 0.3f, m0), "axpby");
  SV_EXPECT_CUDA_F32(ops::axpby(b.gpu, 0.7f, b.up(x), 0.3f, Tensor()), ops::axpby(b.cpu, 0.7f, x, 0.3f, Tensor()), "ax");
  SV_EXPECT_CUDA_F32(ops::dpm_2m_update(b.gpu, b.up(x), b.up(m0), b.up(m1), 0.9f, -0.2f, 0.1f, 1.7f),
                     ops::dpm_2m_update(b.cpu, x, m0, m1, 0.9f, -0.2f, 0.1f, 1.7f), "dpm");
  SV_EXPECT_CUDA_F32(ops::unipc_update(b.gpu, b.up(x), b.up(m0), b.up(m1), b.up(mt), 0.9f, 0.2f, 0.3f, 0.4f, 0.5f, 1.3f),
                     ops::unipc_update(b.cpu, x, m0, m1, mt, 0.9f, 0.2f, 0.3f, 0.4f, 0.5f, 1.3f), "unipc corrector");
  SV_EXPECT_CUDA_F32(ops::unipc_update(b.gpu, b.up(x), b.up(m0), Tensor(), Tensor(), 0.9f, 0.2f, 0.3f, 0.5f, 0.0f, 1.0f),
                     ops::unipc_update(b.cpu, x, m0, Tensor(), Tensor(), 0.9f, 0.2f, 0.3f, 0.5f, 0.0f, 1.0f), "unipc p1");
  SV_EXPECT_CUDA_F32(ops::cfg_combine(b.gpu, b.up(v2), 6.0f), ops::cfg_combine(b.cpu, v2, 6.0f), "cfg");
  SV_EXPECT_CUDA_F32(ops::flow_x0(b.gpu, b.up(x), b.up(m0), 0.727), ops::flow_x0(b.cpu, x, m0, 0.727), "x0");
  SV_EXPECT_CUDA_F32(ops::flow_renoise(b.gpu, b.up(x), b.up(m0), 0.3), ops::flow_renoise(b.cpu, x, m0, 0.3), "renoise");
  const std::vector<float> mean{0.1f, -0.2f, 0.3f, 0.0f}, inv{1.5f, 0.5f, 2.0f, 1.0f};
  for (bool denorm : {false, true}) {
    Tensor zc = x.clone(), zg = b.up(x);
    ops::latents_affine_(b.cpu, zc, mean, inv, denorm);
    ops::latents_affine_(b.gpu, zg, mean, inv, denorm);
    SV_EXPECT_CUDA_F32(zg, zc, "latents affine");
  }
}

// ---- Goldens on CUDA fp32 (the same files and bar as the CPU tests).

class CudaDitGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaDitGolden, MatchesDiffusersFp32) {
  SV_REQUIRE_CUDA();
  const std::string dir = test::golden("sana_dit/" + GetParam());
  Context ctx(Device::CUDA, 2, 0, DType::F32);
  auto model = sana_dit::SanaVideoTransformer::load(dir, &ctx);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  const sana_dit::Inputs x = test::dit_inputs(in);
  std::map<std::string, Tensor> seen;
  ctx.set_dump([&](const std::string& name, const Tensor& t) { seen[name] = t.to_host().clone(); });
  const Tensor sample = model->forward(ctx, x).to_host();
  for (const std::string& name : ref.names()) {
    if (name == "sample") continue;
    ASSERT_TRUE(seen.count(name)) << name;
    SV_EXPECT_CLOSE(seen[name], ref.get(name), 1e-4, name);
  }
  SV_EXPECT_CLOSE(sample, ref.get("sample"), 1e-4, "sample");

  // bf16 weights and GEMM inputs against the CPU fp32 model: relative L2 <= 1e-2.
  Context bctx(Device::CUDA, 2, 0, DType::BF16);
  auto bmodel = sana_dit::SanaVideoTransformer::load(dir, &bctx);
  EXPECT_LE(rel_l2(bmodel->forward(bctx, x).to_host(), ref.get("sample")), 1e-2) << "bf16";
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaDitGolden,
                         ::testing::Values("p122_b2_mask", "p111_odd", "per_token", "affine_guidance"));

class CudaGemma2Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaGemma2Golden, MatchesTransformersFp32) {
  SV_REQUIRE_CUDA();
  const std::string dir = test::golden("text/" + GetParam());
  Context ctx(Device::CUDA, 2, 0, DType::F32);
  auto m = gemma2::Gemma2Model::load(dir, &ctx);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const Tensor h = m->forward(ctx, in.get("input_ids"), in.get("attention_mask")).to_host();
  const Tensor ref = io::TensorSource::open(dir + "/expected.safetensors").get("last_hidden_state");
  SV_EXPECT_CLOSE(h, ref, 1e-4, "last_hidden_state");
  Context bctx(Device::CUDA, 2, 0, DType::BF16);
  auto bm = gemma2::Gemma2Model::load(dir, &bctx);
  EXPECT_LE(rel_l2(bm->forward(bctx, in.get("input_ids"), in.get("attention_mask")).to_host(), ref), 1e-2) << "bf16";
}

INSTANTIATE_TEST_SUITE_P(Configs, CudaGemma2Golden, ::testing::Values("gemma_a", "gemma_b", "gemma_c"));

// LongSANA: block by block on the GPU (state on the device) equals the CPU's block-by-block result.
TEST(CudaLongSana, BlocksWithStateMatchCpu) {
  SV_REQUIRE_CUDA();
  const std::string dir = test::golden("sana_dit/p111_odd");
  Context cpu(Device::CPU, 2), gpu(Device::CUDA, 2, 0, DType::F32);
  auto mc = sana_dit::SanaVideoTransformer::load(dir);
  auto mg = sana_dit::SanaVideoTransformer::load(dir, &gpu);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const Tensor hs = in.get("hidden_states");
  const int64_t B = hs.size(0), C = hs.size(1), H = hs.size(3), W = hs.size(4);
  const Tensor x = rnd({B, C, 7, H, W}, 50), t = Tensor::from_vector(std::vector<float>(B, 640.0f), {B});
  sana_dit::CausalState sc, sg;
  for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 3}, {3, 5}, {5, 7}}) {
    sana_dit::Inputs i;
    i.hidden_states = x.narrow(2, s, e - s).contiguous();
    i.encoder_hidden_states = in.get("encoder_hidden_states");
    i.timestep = t;
    const Tensor ref = mc->forward_block(cpu, i, s, sc);
    const Tensor got = mg->forward_block(gpu, i, s, sg).to_host();
    SV_EXPECT_CLOSE(got, ref, 1e-4, "block " + std::to_string(s));
    sc.push(cpu, mc->context_block(cpu, i, s, sc));
    sg.push(gpu, mg->context_block(gpu, i, s, sg));
  }
}

class CudaWanVaeGolden : public ::testing::TestWithParam<std::string> {};

// Decode and encode on CUDA fp32 against diffusers (1e-4), bf16 against the golden (relative L2), and
// the streaming decode equal to the whole decode on the GPU.
TEST_P(CudaWanVaeGolden, DecodeEncodeStreaming) {
  SV_REQUIRE_CUDA();
  const std::string dir = test::golden("wan_vae/" + GetParam());
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CUDA, 2, 0, DType::F32);
  auto vae = wan_vae::AutoencoderKLWan::load(dir, &ctx);
  const Tensor whole = vae->decode(ctx, in.get("latents")).to_host();
  SV_EXPECT_CLOSE(whole, ref.get("sample"), 1e-4, "decode");
  const int64_t z = vae->config().z_dim;
  SV_EXPECT_CLOSE(vae->encode(ctx, in.get("video")).to_host().narrow(1, 0, z), ref.get("latent_mean"), 1e-4, "encode");
  std::vector<Tensor> parts;
  vae->decode(ctx, in.get("latents"), [&](const Tensor& f) { parts.push_back(f.to_host()); });
  Context host(Device::CPU, 1);
  // cuBLAS may tile the whole decode's first 1x1 conv differently from the per-frame one: not bitwise.
  SV_EXPECT_CLOSE(ops::cat(host, parts, 2), whole, 1e-6, "streaming == whole");
  Context bctx(Device::CUDA, 2, 0, DType::BF16);
  auto bvae = wan_vae::AutoencoderKLWan::load(dir, &bctx);
  EXPECT_LE(rel_l2(bvae->decode(bctx, in.get("latents")).to_host(), ref.get("sample")), 1e-2) << "decode bf16";
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaWanVaeGolden, ::testing::Values("wan21_mini", "attn_b2"));

// GPU memory of the streaming decode does not grow with the number of latent frames.
TEST(CudaWanVae, StreamingMemoryIsFlat) {
  SV_REQUIRE_CUDA();
  Context ctx(Device::CUDA, 2, 0, DType::BF16);
  auto vae = wan_vae::AutoencoderKLWan::load(test::golden("wan_vae/wan21_mini"), &ctx);
  std::vector<size_t> peak;
  for (int64_t T : {int64_t(4), int64_t(16)}) {
    ctx.synchronize();
    ctx.runtime()->reset_peak();
    vae->decode(ctx, rnd({1, 4, T, 5, 7}, 70), [](const Tensor& f) { (void)f.to_host(); });
    ctx.synchronize();
    peak.push_back(ctx.runtime()->peak_bytes());
  }
  EXPECT_LE(peak[1], peak[0] + peak[0] / 20) << peak[0] << " -> " << peak[1] << " bytes";
  // A decode that cannot fit is refused up front with the sizes in the message.
  auto decode_of = [&](int64_t h, int64_t w) {
    pipeline::MemoryEstimate m;
    m.decode = vae->decode_bytes(h, w);
    m.width = static_cast<int>(w * 8);
    m.height = static_cast<int>(h * 8);
    return m;
  };
  EXPECT_NO_THROW(pipeline::check_memory_fits(ctx, decode_of(60, 104)));
  try {
    pipeline::check_memory_fits(ctx, decode_of(40000, 40000));
    FAIL() << "an impossible decode was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MiB are available"), std::string::npos) << e.what();
  }
}

class CudaLtx2VaeGolden : public ::testing::TestWithParam<std::string> {};

// The LTX-2 VAE on CUDA: fp32 decode / encode / tiled decode against diffusers (1e-4), streamed equal to
// whole, bf16 decode within relative L2 1e-2.
TEST_P(CudaLtx2VaeGolden, DecodeEncodeTiledStreaming) {
  SV_REQUIRE_CUDA();
  const std::string dir = test::golden("ltx2_vae/" + GetParam());
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CUDA, 2, 0, DType::F32);
  auto vae = VideoVae::load(dir, &ctx);
  const Tensor z = in.get("latents");
  const Tensor whole = vae->decode(ctx, z).to_host();
  SV_EXPECT_CLOSE(whole, ref.get("sample"), 1e-4, "decode");
  SV_EXPECT_CLOSE(vae->encode_mean(ctx, in.get("video")).to_host(), ref.get("latent_mean"), 1e-4, "encode");
  std::vector<Tensor> parts;
  vae->decode_streamed(ctx, z, [&](const Tensor& f) { parts.push_back(f.to_host()); });
  Context host(Device::CPU, 1);
  SV_EXPECT_CLOSE(ops::cat(host, parts, 2), whole, 1e-5, "streaming == whole");
  if (GetParam() == "a") {
    const io::TensorSource tref = io::TensorSource::open(dir + "/expected_tiled.safetensors");
    VaeTiling t;
    t.enabled = true, t.tile_height = t.tile_width = 96, t.stride_height = t.stride_width = 64;
    SV_EXPECT_CLOSE(vae->decode(ctx, in.get("latents_tiled"), t).to_host(), tref.get("sample_tiled"), 1e-4, "tiled");
    SV_EXPECT_CLOSE(vae->encode_mean(ctx, in.get("video_tiled"), t).to_host(), tref.get("latent_mean_tiled"), 1e-4,
                    "tiled encode");
  }
  Context bctx(Device::CUDA, 2, 0, DType::BF16);
  auto bvae = VideoVae::load(dir, &bctx);
  EXPECT_LE(rel_l2(bvae->decode(bctx, z).to_host(), ref.get("sample")), 1e-2) << "decode bf16";
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaLtx2VaeGolden, ::testing::Values("a", "b", "c"));

// The 720p layout end to end on the GPU (fp32) against the CPU run.
// SANA-Video 2.0: the converted tiny release on CUDA fp32 against the official modules' goldens, and in
// bf16 against them (relative L2 <= 1e-2).
TEST(CudaSanaVideo2, ConvertedReleaseMatchesOfficialModules) {
  SV_REQUIRE_CUDA();
  const std::string g = test::golden("sana_video2/tiny");
  const std::string dir = ::testing::TempDir() + "sv_cuda_sv2_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  sana_video2::convert_release(g + "/model.pth", g + "/config.yaml", dir);
  for (const DType dt : {DType::F32, DType::BF16}) {
    Context ctx(Device::CUDA, 2, 0, dt);
    auto model = sana_video2::Transformer::load(dir + "/transformer", &ctx);
    for (const char* c : {"scalar", "per_frame", "per_token"}) {
      const io::TensorSource in = io::TensorSource::open(g + "/" + c + "/inputs.safetensors");
      const io::TensorSource ref = io::TensorSource::open(g + "/" + c + "/expected.safetensors");
      sana_video2::Inputs x{in.get("hidden_states"), in.get("encoder_hidden_states"), in.get("timestep"),
                            in.get("encoder_attention_mask")};
      const Tensor out = model->forward(ctx, x).to_host();
      if (dt == DType::F32) SV_EXPECT_CLOSE(out, ref.get("sample"), 1e-4, std::string("fp32 ") + c);
      else EXPECT_LE(rel_l2(out, ref.get("sample")), 1e-2) << "bf16 " << c;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(CudaPipeline720, TextToVideoMatchesCpu) {
  SV_REQUIRE_CUDA();
  Context cpu(Device::CPU, 2), gpu(Device::CUDA, 2, 0, DType::F32);
  auto pc = pipeline::SanaVideoPipeline::load(test::golden("ltx2_pipeline/tiny_720"));
  auto pg = pipeline::SanaVideoPipeline::load(test::golden("ltx2_pipeline/tiny_720"), &gpu);
  pipeline::GenerateParams p;
  p.prompt = "a red circle moving left", p.height = 64, p.width = 64, p.frames = 9, p.steps = 3, p.seed = 5;
  auto run = [&](const pipeline::SanaVideoPipeline& pl, Context& ctx) {
    std::vector<Tensor> parts;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) { parts.push_back(f.to_host()); };
    pl.generate(ctx, p, cb);
    Context host(Device::CPU, 1);
    return ops::cat(host, parts, 2);
  };
  const Tensor ref = run(*pc, cpu), got = run(*pg, gpu);
  SV_EXPECT_CLOSE(got, ref, 1e-3, "720p frames on CUDA vs CPU");
}

// A short LongSANA generation with everything on the GPU (fp32) against the CPU run.
TEST(CudaLongSana, LongGenerationMatchesCpu) {
  SV_REQUIRE_CUDA();
  Context cpu(Device::CPU, 2), gpu(Device::CUDA, 2, 0, DType::F32);
  auto pc = pipeline::SanaVideoPipeline::load(test::golden("pipeline/tiny_t2v"));
  auto pg = pipeline::SanaVideoPipeline::load(test::golden("pipeline/tiny_t2v"), &gpu);
  pipeline::LongGenerateParams p;
  p.prompts = {{0, "a red circle moving left"}, {2.5, "a blue square"}};
  p.height = 32, p.width = 64, p.frames = 4 * 8 + 1, p.fps = 8, p.seed = 3, p.block_frames = 3;
  auto run = [&](const pipeline::SanaVideoPipeline& pl, Context& ctx) {
    std::vector<float> out;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) {
      const auto v = f.to_vector();
      out.insert(out.end(), v.begin(), v.end());
    };
    pipeline::generate_long(ctx, pl, p, cb);
    return out;
  };
  const auto a = run(*pc, cpu), b = run(*pg, gpu);
  ASSERT_EQ(a.size(), b.size());
  double mx = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) mx = std::max(mx, std::fabs(double(a[i]) - b[i])), ref = std::max(ref, std::fabs(double(a[i])));
  EXPECT_LE(mx, 1e-3 * ref) << "long video frames GPU vs CPU";
}

// The embedded toy model: text encoder, transformer, sampler and VAE on the GPU (fp32), frames against
// the all-CPU run.
TEST(CudaToyModel, EndToEndMatchesCpuFrames) {
  SV_REQUIRE_CUDA();
  Context cpu(Device::CPU, 2), gpu(Device::CUDA, 2, 0, DType::F32);
  auto pc = pipeline::SanaVideoPipeline::load(SV_TOY_MODEL);
  auto pg = pipeline::SanaVideoPipeline::load(SV_TOY_MODEL, &gpu);
  pipeline::GenerateParams p;
  p.prompt = "a red circle moving left";
  p.width = p.height = 32;
  p.frames = 17;
  p.steps = 20;
  p.seed = 3;
  auto frames = [&](const pipeline::SanaVideoPipeline& pl, Context& ctx) {
    std::vector<uint8_t> out;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) {
      for (int64_t i = 0; i < f.size(2); ++i) {
        const auto rgb = io::frame_to_rgb24(f.select(0, 0), i);
        out.insert(out.end(), rgb.begin(), rgb.end());
      }
    };
    pl.generate(ctx, p, cb);
    return out;
  };
  const auto a = frames(*pc, cpu), b = frames(*pg, gpu);
  ASSERT_EQ(a.size(), b.size());
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) se += std::pow(double(a[i]) - b[i], 2);
  const double mse = se / static_cast<double>(a.size());
  const double psnr = mse == 0 ? INFINITY : 10 * std::log10(255.0 * 255.0 / mse);
  std::printf("toy model CUDA fp32 vs CPU: PSNR %.1f dB\n", psnr);
  EXPECT_GE(psnr, 40.0);
}

// ---- Runs everywhere: a missing GPU is one clear error, never a crash.

TEST(CudaPlacement, MissingGpuIsAClearError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "skipped: a CUDA device is present";
  try {
    Context ctx(Device::CUDA, 1);
    FAIL() << "a CUDA context was created without a GPU";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--device cuda"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(CudaPlacement, DeviceAndDtypeParsing) {
  Device d;
  int i = -1;
  parse_device("cpu", &d, &i);
  EXPECT_EQ(d, Device::CPU);
  parse_device("cuda:3", &d, &i);
  EXPECT_EQ(d, Device::CUDA);
  EXPECT_EQ(i, 3);
  parse_device("cuda", &d, &i);
  EXPECT_EQ(i, 0);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CUDA", "cuda:99999999"}) EXPECT_THROW(parse_device(bad, &d, &i), Error) << bad;
  EXPECT_EQ(parse_compute_dtype("bf16"), DType::BF16);
  EXPECT_EQ(parse_compute_dtype("fp32"), DType::F32);
  EXPECT_THROW(parse_compute_dtype("fp8"), Error);
  EXPECT_THROW(Context(Device::CPU, 1, 0, DType::BF16), Error);  // the CPU computes in fp32
}

}  // namespace
}  // namespace sv
