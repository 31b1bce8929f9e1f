// LongSANA block-wise generation: the cached causal mode against the stateless chunk-causal forward,
// the attention against a direct masked sum, the state's window, the sampler's official numbers, and
// the streaming long-video pipeline.
#include <cmath>
#include <set>

#include "core/context.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "nn/rope3d.h"
#include "models/sana_dit/sana_dit.h"
#include "ops/ops.h"
#include "pipeline/long_video.h"
#include "sampling/longlive.h"
#include "test_util.h"

namespace sv {
namespace {

Tensor frames(const Tensor& x, int64_t s, int64_t e) { return x.narrow(2, s, e - s).contiguous(); }

class CachedVsChunked : public ::testing::TestWithParam<std::string> {};

// (a) Block by block with the constant-size state == one chunk-causal forward over
// [clean earlier blocks | this block] with per-token timesteps (0 on the clean frames), no state.
TEST_P(CachedVsChunked, BlockByBlockEqualsChunkCausalForward) {
  const std::string dir = test::golden("sana_dit/" + GetParam());
  auto model = sana_dit::SanaVideoTransformer::load(dir);
  const auto& cfg = model->config();
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const Tensor hs = in.get("hidden_states");
  const int64_t B = hs.size(0), C = hs.size(1), H = hs.size(3), W = hs.size(4), F = 7;
  const std::vector<int64_t> starts{0, 3, 5};
  TorchGenerator g(11);
  const Tensor clean = g.randn({B, C, F, H, W}), noisy = g.randn({B, C, F, H, W});
  std::vector<float> tv;
  for (int64_t b = 0; b < B; ++b) tv.push_back(700.0f - 150.0f * static_cast<float>(b));
  Context ctx(Device::CPU, 2);
  auto inputs = [&](const Tensor& x, const Tensor& t) {
    sana_dit::Inputs i = test::dit_inputs(in);
    i.hidden_states = x;
    i.timestep = t;
    return i;
  };
  const Tensor t_block = Tensor::from_vector(tv, {B});
  const Tensor t_zero = Tensor::zeros({B});

  sana_dit::CausalState state;
  const int64_t Hp = H / cfg.patch_size[1], Wp = W / cfg.patch_size[2];
  for (size_t c = 0; c < starts.size(); ++c) {
    const int64_t s = starts[c], e = c + 1 < starts.size() ? starts[c + 1] : F;
    const Tensor got = model->forward_block(ctx, inputs(frames(noisy, s, e), t_block), s, state);
    state.push(ctx, model->context_block(ctx, inputs(frames(clean, s, e), t_zero), s, state));

    // Reference: frames [0, s) clean at t = 0, [s, e) noisy at t, chunk-causal, no state.
    const Tensor seq = s > 0 ? ops::cat(ctx, {frames(clean, 0, s), frames(noisy, s, e)}, 2) : frames(noisy, s, e);
    Tensor tt = Tensor::zeros({B, 1, e, Hp, Wp});
    const int64_t per = e * Hp * Wp;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = s * Hp * Wp; k < per; ++k) tt.f32()[b * per + k] = tv[static_cast<size_t>(b)];
    sana_dit::Inputs ri = inputs(seq, tt);
    ri.block_starts.assign(starts.begin(), starts.begin() + static_cast<long>(c) + 1);
    const Tensor ref = frames(model->forward(ctx, ri), s, e);
    SV_EXPECT_CLOSE(got, ref, 1e-4, GetParam() + " block " + std::to_string(c));
  }
  EXPECT_EQ(state.blocks(), 3);
}

INSTANTIATE_TEST_SUITE_P(Models, CachedVsChunked, ::testing::Values("p111_odd", "p122_b2_mask"));

// The first block with no state is the bidirectional model; so is a chunk-causal forward with one chunk.
TEST(LongSana, OneBlockIsTheBidirectionalModel) {
  const std::string dir = test::golden("sana_dit/p122_b2_mask");
  auto model = sana_dit::SanaVideoTransformer::load(dir);
  sana_dit::Inputs x = test::dit_inputs(io::TensorSource::open(dir + "/inputs.safetensors"));
  Context ctx(Device::CPU, 2);
  const Tensor ref = model->forward(ctx, x);
  SV_EXPECT_CLOSE(model->forward_block(ctx, x, 0, sana_dit::CausalState()), ref, 1e-6, "cached, empty state");
  x.block_starts = {0};
  SV_EXPECT_CLOSE(model->forward(ctx, x), ref, 1e-6, "chunked, one chunk");
  // With two chunks the first frame no longer sees the later ones: the output must change.
  x.block_starts = {0, 1};
  EXPECT_GT(test::compare(model->forward(ctx, x), ref).ratio(), 1e-3);
}

// (b) The attention: state + block == a direct O(N^2) masked sum over every visible key.
TEST(LongSana, AttentionEqualsDirectMaskedSum) {
  const int64_t B = 2, heads = 2, Cd = 8, D = heads * Cd, P = Cd / 2, N_old = 9, N = 6;
  TorchGenerator g(5);
  const Tensor q0 = g.randn({B, N_old, D}), k0 = g.randn({B, N_old, D}), v0 = g.randn({B, N_old, D});
  const Tensor q = g.randn({B, N, D}), k = g.randn({B, N, D}), v = g.randn({B, N, D});
  Tensor cos_all, sin_all;  // one token per frame, so every token has its own absolute position
  nn::rope3d_tables(Cd, 1024, N_old + N, 1, 1, &cos_all, &sin_all);
  const Tensor c_old = cos_all.narrow(0, 0, N_old).contiguous(), s_old = sin_all.narrow(0, 0, N_old).contiguous();
  const Tensor c_new = cos_all.narrow(0, N_old, N).contiguous(), s_new = sin_all.narrow(0, N_old, N).contiguous();
  Context ctx(Device::CPU, 2);
  Tensor vk, ks;
  ops::linear_attention_cached(ctx, q0, k0, v0, c_old, s_old, heads, Tensor(), Tensor(), &vk, &ks);
  const Tensor got = ops::linear_attention_cached(ctx, q, k, v, c_new, s_new, heads, vk, ks, nullptr, nullptr);

  // Direct: keys = earlier tokens + this block's tokens, at their absolute positions.
  auto at = [](const Tensor& t, int64_t b, int64_t n, int64_t d) { return t.f32()[(b * t.size(1) + n) * t.size(2) + d]; };
  auto rot = [&](const Tensor& t, const Tensor& c, const Tensor& s, int64_t b, int64_t n, int64_t row, int64_t h,
                 std::vector<double>& out) {
    out.assign(static_cast<size_t>(Cd), 0.0);
    for (int64_t i = 0; i < P; ++i) {
      const double x0 = std::max(at(t, b, n, h * Cd + 2 * i), 0.0f), x1 = std::max(at(t, b, n, h * Cd + 2 * i + 1), 0.0f);
      const double cc = c.f32()[row * P + i], ss = s.f32()[row * P + i];
      out[2 * i] = x0 * cc - x1 * ss;
      out[2 * i + 1] = x0 * ss + x1 * cc;
    }
  };
  Tensor ref = Tensor::zeros({B, N, D});
  std::vector<double> qr, kr;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < N; ++i) {
        rot(q, c_new, s_new, b, i, i, h, qr);
        std::vector<double> num(static_cast<size_t>(Cd), 0.0);
        double den = 0;
        for (int64_t j = 0; j < N_old + N; ++j) {
          const bool old = j < N_old;
          const Tensor& kk = old ? k0 : k;
          const Tensor& vv = old ? v0 : v;
          const int64_t jj = old ? j : j - N_old;
          rot(kk, old ? c_old : c_new, old ? s_old : s_new, b, jj, jj, h, kr);
          double dot = 0, plain = 0;
          for (int64_t c = 0; c < Cd; ++c) {
            dot += kr[static_cast<size_t>(c)] * qr[static_cast<size_t>(c)];
            plain += std::max(at(kk, b, jj, h * Cd + c), 0.0f) * std::max(at(q, b, i, h * Cd + c), 0.0f);
          }
          for (int64_t c = 0; c < Cd; ++c) num[static_cast<size_t>(c)] += at(vv, b, jj, h * Cd + c) * dot;
          den += plain;
        }
        for (int64_t c = 0; c < Cd; ++c)
          ref.f32()[(b * N + i) * D + h * Cd + c] = static_cast<float>(num[static_cast<size_t>(c)] / (den + 1e-15));
      }
  SV_EXPECT_CLOSE(got, ref, 1e-5, "cached linear attention");

  // The chunk-causal op on the concatenated sequence gives the same rows for the last chunk, and its
  // first chunk equals attention over the earlier tokens alone.
  const Tensor qa = ops::cat(ctx, {q0, q}, 1), ka = ops::cat(ctx, {k0, k}, 1), va = ops::cat(ctx, {v0, v}, 1);
  const Tensor chunked = ops::linear_attention_chunked(ctx, qa, ka, va, cos_all, sin_all, heads, {0, N_old});
  SV_EXPECT_CLOSE(chunked.narrow(1, N_old, N).contiguous(), ref, 1e-5, "chunked, last chunk");
  SV_EXPECT_CLOSE(chunked.narrow(1, 0, N_old).contiguous(), ops::linear_attention(ctx, q0, k0, v0, c_old, s_old, heads),
                  1e-5, "chunked, first chunk");
}

// The temporal conv: cached left frame and a cut at the block end == the chunked conv on the sequence.
TEST(LongSana, TemporalConvLeftFrameAndCut) {
  TorchGenerator g(9);
  const int64_t B = 2, F = 5, P = 3, D = 4;
  const Tensor x = g.randn({B, F, P, D}), w = g.randn({D, D, 3, 1});
  Context ctx(Device::CPU, 1);
  const Tensor full = ops::temporal_conv3_residual(ctx, x, w, Tensor(), {2});
  const Tensor first = ops::temporal_conv3_residual(ctx, x.narrow(1, 0, 2).contiguous(), w);
  const Tensor second =
      ops::temporal_conv3_residual(ctx, x.narrow(1, 2, 3).contiguous(), w, x.narrow(1, 1, 1).contiguous());
  SV_EXPECT_CLOSE(full.narrow(1, 0, 2).contiguous(), first, 1e-6, "first chunk");
  SV_EXPECT_CLOSE(full.narrow(1, 2, 3).contiguous(), second, 1e-6, "second chunk");
  // Without the cut frame 1 sees frame 2.
  EXPECT_GT(test::compare(ops::temporal_conv3_residual(ctx, x, w).narrow(1, 1, 1).contiguous(),
                          full.narrow(1, 1, 1).contiguous())
                .ratio(),
            1e-3);
}

// (d) Block positions are absolute: a block's rotary rows are the sequence's rows at those frames.
TEST(LongSana, RopeOffsetIsAbsolute) {
  Tensor c_all, s_all, c_blk, s_blk;
  nn::rope3d_tables(112, 1024, 25, 3, 4, &c_all, &s_all);
  nn::rope3d_tables(112, 1024, 10, 3, 4, &c_blk, &s_blk, 15);
  const int64_t per = 3 * 4;
  EXPECT_EQ(test::compare(c_blk, c_all.narrow(0, 15 * per, 10 * per).contiguous()).max_abs_diff, 0.0);
  EXPECT_EQ(test::compare(s_blk, s_all.narrow(0, 15 * per, 10 * per).contiguous()).max_abs_diff, 0.0);
  EXPECT_THROW(nn::rope3d_tables(112, 1024, 10, 3, 4, &c_blk, &s_blk, 1020), Error);

  // And the cached forward uses them: the same block at another offset gives another output.
  const std::string dir = test::golden("sana_dit/p111_odd");
  auto model = sana_dit::SanaVideoTransformer::load(dir);
  sana_dit::Inputs x = test::dit_inputs(io::TensorSource::open(dir + "/inputs.safetensors"));
  Context ctx(Device::CPU, 2);
  sana_dit::CausalState st;
  st.push(ctx, model->context_block(ctx, x, 0, st));
  const Tensor at5 = model->forward_block(ctx, x, 5, st), at9 = model->forward_block(ctx, x, 9, st);
  EXPECT_GT(test::compare(at5, at9).ratio(), 1e-4);
}

sana_dit::BlockContribution contribution(float value, size_t layers) {
  sana_dit::BlockContribution c;
  for (size_t l = 0; l < layers; ++l) {
    c.vk.push_back(Tensor::from_vector(std::vector<float>(8, value * static_cast<float>(l + 1)), {1, 2, 2, 2}));
    c.ksum.push_back(Tensor::from_vector(std::vector<float>(4, value), {1, 2, 2}));
    c.conv.push_back(Tensor::from_vector(std::vector<float>(6, -value), {1, 1, 3, 2}));
  }
  return c;
}

TEST(LongSana, StateWindowAndRecache) {
  Context ctx(Device::CPU, 1);
  sana_dit::CausalState all, window(2);
  EXPECT_FALSE(all.vk(0).defined());
  size_t bytes_after_two = 0;
  for (int i = 1; i <= 4; ++i) {
    all.push(ctx, contribution(static_cast<float>(i), 2));
    window.push(ctx, contribution(static_cast<float>(i), 2));
    if (i == 2) bytes_after_two = all.bytes();
  }
  EXPECT_EQ(all.vk(1).f32()[0], 2.0f * (1 + 2 + 3 + 4));
  EXPECT_EQ(all.ksum(0).f32()[3], 10.0f);
  EXPECT_EQ(window.vk(1).f32()[0], 2.0f * (3 + 4));
  EXPECT_EQ(window.ksum(0).f32()[0], 7.0f);
  EXPECT_EQ(all.conv(1).f32()[0], -4.0f);
  EXPECT_EQ(all.bytes(), bytes_after_two);  // constant size however many blocks
  all.replace_last(ctx, contribution(10.0f, 2));
  EXPECT_EQ(all.ksum(0).f32()[0], 1 + 2 + 3 + 10.0f);
  EXPECT_EQ(all.conv(0).f32()[0], -10.0f);
  EXPECT_THROW(all.push(ctx, contribution(1.0f, 3)), Error);
  EXPECT_THROW(sana_dit::CausalState(-1), Error);
}

// (c) The sampler's numbers equal the official ones (official_sana_video.md section 2.5).
TEST(LongSana, LongLiveScheduleMatchesOfficialValues) {
  sampling::LongLiveSchedule s;
  const std::vector<std::pair<double, double>> table{{1000, 1.0},      {960, 0.959957}, {889, 0.889153},
                                                     {888, 0.887960},  {727, 0.727410}, {728, 0.728400}};
  for (const auto& [t, sigma] : table) EXPECT_NEAR(s.sigma(t), sigma, 1e-6) << "t = " << t;
  EXPECT_EQ(s.model_timestep(1000), 1000.0);
  EXPECT_EQ(s.model_timestep(960), 960.0);
  EXPECT_EQ(s.model_timestep(889), 888.0);
  EXPECT_EQ(s.model_timestep(727), 728.0);
  s.bf16_timesteps = false;
  EXPECT_EQ(s.model_timestep(889), 889.0);
  EXPECT_EQ(sampling::longlive_block_starts(21, 10), (std::vector<int64_t>{0, 11}));
  EXPECT_EQ(sampling::longlive_block_starts(81, 10), (std::vector<int64_t>{0, 11, 21, 31, 41, 51, 61, 71}));
  const auto b241 = sampling::longlive_block_starts(241, 10);
  EXPECT_EQ(b241.size(), 24u);
  EXPECT_EQ(b241[1], 11);
  EXPECT_EQ(b241.back(), 231);
  EXPECT_EQ(sampling::longlive_block_starts(4, 10), (std::vector<int64_t>{0}));
}

class LongPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pipe_ = pipeline::SanaVideoPipeline::load(test::golden("pipeline/tiny_t2v")).release(); }
  static void TearDownTestSuite() { delete pipe_; }
  static pipeline::LongGenerateParams params() {
    pipeline::LongGenerateParams p;
    p.prompts = {{0, "a red circle moving left"}};
    p.height = 32, p.width = 64, p.frames = 4 * 8 + 1, p.fps = 8, p.seed = 3, p.block_frames = 3;
    return p;
  }
  static pipeline::SanaVideoPipeline* pipe_;
};
pipeline::SanaVideoPipeline* LongPipeline::pipe_ = nullptr;

// Frames come out block by block while the video is being made, and the run is reproducible.
TEST_F(LongPipeline, StreamsEveryBlockAsItFinishes) {
  Context ctx(Device::CPU, 2);
  auto p = params();  // 9 latent frames in blocks of 3 -> starts 0, 3, 6
  std::vector<std::pair<int, int64_t>> events;  // (blocks finished, frames so far)
  int64_t n = 0;
  std::vector<Tensor> got;
  pipeline::GenerateCallbacks cb;
  cb.progress = [&](const char* stage, int step, int) {
    if (std::string(stage) == "block") events.push_back({step, n});
  };
  cb.on_frames = [&](const Tensor& f) {
    n += f.size(2);
    got.push_back(f.clone());
  };
  const auto r = pipeline::generate_long(ctx, *pipe_, p, cb);
  ASSERT_FALSE(r.cancelled);
  EXPECT_EQ(n, p.frames);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1], (std::pair<int, int64_t>{1, 9}));   // 1 + 4 * 2 frames after block 0
  EXPECT_EQ(events[2], (std::pair<int, int64_t>{2, 21}));
  EXPECT_EQ(events[3], (std::pair<int, int64_t>{3, 33}));
  double mx = 0;
  for (const Tensor& f : got)
    for (float v : f.to_vector()) mx = std::max(mx, std::fabs(static_cast<double>(v)));
  EXPECT_GT(mx, 0.0);
  // Same seed, same frames.
  int64_t k = 0;
  cb.progress = nullptr;
  cb.on_frames = [&](const Tensor& f) {
    EXPECT_EQ(test::compare(f, got[static_cast<size_t>(k++)]).max_abs_diff, 0.0);
  };
  pipeline::generate_long(ctx, *pipe_, p, cb);
  EXPECT_EQ(k, static_cast<int64_t>(got.size()));
}

// A prompt switch changes only what comes after it; re-encoding the previous block matters.
TEST_F(LongPipeline, PromptSwitchRecachesThePreviousBlock) {
  Context ctx(Device::CPU, 2);
  auto run = [&](const pipeline::LongGenerateParams& p) {
    std::vector<Tensor> out;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) { out.push_back(f.clone()); };
    pipeline::generate_long(ctx, *pipe_, p, cb);
    return out;
  };
  auto p = params();
  const auto one = run(p);
  p.prompts.push_back({2.0, "a blue square moving up"});  // 2 s = frame 16 = latent 4 -> block 2 (starts at 6)
  const auto plan = pipeline::plan_long(*pipe_, p);
  EXPECT_EQ(plan.block_prompt, (std::vector<size_t>{0, 0, 1}));
  const auto two = run(p);
  p.recache_on_switch = false;
  const auto norecache = run(p);
  ASSERT_EQ(one.size(), two.size());
  const size_t first_of_block2 = 6;  // one push per latent frame: frames 0..5 come before block 2
  for (size_t i = 0; i < one.size(); ++i) {
    const double d = test::compare(two[i], one[i]).max_abs_diff;
    if (i < first_of_block2) EXPECT_EQ(d, 0.0) << "frame push " << i;
    else EXPECT_GT(d, 0.0) << "frame push " << i;
  }
  EXPECT_GT(test::compare(two.back(), norecache.back()).max_abs_diff, 0.0);
}

TEST_F(LongPipeline, BadSchedulesAndLengthsAreClearErrors) {
  auto expect_error = [&](const pipeline::LongGenerateParams& p, const std::string& part) {
    try {
      pipeline::plan_long(*pipe_, p);
      ADD_FAILURE() << "no error for " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  auto p = params();
  p.prompts = {{0, "a"}, {2, "b"}, {1, "c"}};
  expect_error(p, "must increase");
  p.prompts = {{0, "a"}, {2, "b"}, {2.5, "c"}};
  expect_error(p, "overlap");
  p.prompts = {{1, "a"}};
  expect_error(p, "must start at 0 s");
  p.prompts = {{0, "a"}, {9, "b"}};
  expect_error(p, "after the video ends");
  p = params();
  p.frames = 4 * 1024 + 1;
  expect_error(p, "at most 4093 frames");
  p.frames = 10;
  expect_error(p, "4k + 1");
  EXPECT_THROW(pipeline::parse_prompt_at("no colon"), Error);
  EXPECT_THROW(pipeline::parse_prompt_at("x:prompt"), Error);
  EXPECT_THROW(pipeline::parse_prompt_at("-1:prompt"), Error);
  EXPECT_THROW(pipeline::parse_prompt_at("3:"), Error);
  const auto seg = pipeline::parse_prompt_at(" 2.5 : a cat ");
  EXPECT_EQ(seg.start_seconds, 2.5);
  EXPECT_EQ(seg.prompt, "a cat");
}

}  // namespace
}  // namespace sv
