// CPU ops against direct (naive, O(N^2) where relevant) formulas on random data.
#include <random>

#include "core/context.h"
#include "ops/ops.h"
#include "test_util.h"

namespace sv {
namespace {

Tensor randn(const Shape& s, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = n(g);
  return Tensor::from_vector(v, s);
}

TEST(Ops, LinearWithEpilogue) {
  Context ctx(Device::CPU, 2);
  Tensor x = randn({3, 5, 7}, 1), w = randn({4, 7}, 2), b = randn({4}, 3);
  Tensor y = ops::linear(ctx, x, w, b, ops::Act::GeluTanh);
  std::vector<float> ref(3 * 5 * 4);
  const auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  for (int m = 0; m < 15; ++m)
    for (int n = 0; n < 4; ++n) {
      double s = bv[n];
      for (int k = 0; k < 7; ++k) s += double(xv[m * 7 + k]) * wv[n * 7 + k];
      const double g = 0.5 * s * (1 + std::tanh(std::sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
      ref[m * 4 + n] = static_cast<float>(g);
    }
  SV_EXPECT_CLOSE(y, Tensor::from_vector(ref, {3, 5, 4}), 1e-5, "linear");
  EXPECT_THROW(ops::linear(ctx, x, randn({4, 6}, 4), Tensor()), Error);
}

TEST(Ops, LinearAttentionEqualsDirectSum) {
  Context ctx(Device::CPU, 2);
  const int64_t B = 2, N = 9, H = 3, C = 6, D = H * C;
  Tensor q = randn({B, N, D}, 5), k = randn({B, N, D}, 6), v = randn({B, N, D}, 7);
  Tensor cs = randn({N, C / 2}, 8), sn = randn({N, C / 2}, 9);
  Tensor out = ops::linear_attention(ctx, q, k, v, cs, sn, H);
  const auto qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector(), cv = cs.to_vector(), sv = sn.to_vector();
  auto relu = [](float a) { return a > 0 ? a : 0.0f; };
  auto rot = [&](const std::vector<float>& a, int64_t b, int64_t n, int64_t h, int64_t c) {
    const int64_t i = c / 2, base = (b * N + n) * D + h * C;
    const double x0 = relu(a[base + 2 * i]), x1 = relu(a[base + 2 * i + 1]);
    const double co = cv[n * (C / 2) + i], si = sv[n * (C / 2) + i];
    return c % 2 == 0 ? x0 * co - x1 * si : x0 * si + x1 * co;
  };
  std::vector<float> ref(static_cast<size_t>(B * N * D));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N; ++n) {
        double den = 0;
        for (int64_t m = 0; m < N; ++m)
          for (int64_t c = 0; c < C; ++c)
            den += double(relu(kv[(b * N + m) * D + h * C + c])) * relu(qv[(b * N + n) * D + h * C + c]);
        for (int64_t c1 = 0; c1 < C; ++c1) {
          double num = 0;
          for (int64_t m = 0; m < N; ++m) {
            double dot = 0;
            for (int64_t c = 0; c < C; ++c) dot += rot(kv, b, m, h, c) * rot(qv, b, n, h, c);
            num += vv[(b * N + m) * D + h * C + c1] * dot;
          }
          ref[(b * N + n) * D + h * C + c1] = static_cast<float>(num / (den + 1e-15));
        }
      }
  SV_EXPECT_CLOSE(out, Tensor::from_vector(ref, {B, N, D}), 1e-5, "linear attention");
}

TEST(Ops, SdpaWithBias) {
  Context ctx(Device::CPU, 2);
  const int64_t B = 2, N = 5, L = 4, H = 2, C = 3, D = H * C;
  Tensor q = randn({B, N, D}, 10), k = randn({B, L, D}, 11), v = randn({B, L, D}, 12);
  Tensor bias = Tensor::from_vector({0, 0, 0, 0, 0, 0, -10000, -10000}, {B, L});
  Tensor out = ops::sdpa(ctx, q, k, v, bias, H);
  const auto qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector(), bv = bias.to_vector();
  std::vector<float> ref(static_cast<size_t>(B * N * D));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N; ++n) {
        std::vector<double> s(L);
        double mx = -1e300, sum = 0;
        for (int64_t l = 0; l < L; ++l) {
          double d = 0;
          for (int64_t c = 0; c < C; ++c) d += double(qv[(b * N + n) * D + h * C + c]) * kv[(b * L + l) * D + h * C + c];
          s[l] = d / std::sqrt(double(C)) + bv[b * L + l];
          mx = std::max(mx, s[l]);
        }
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t c = 0; c < C; ++c) {
          double o = 0;
          for (int64_t l = 0; l < L; ++l) o += s[l] / sum * vv[(b * L + l) * D + h * C + c];
          ref[(b * N + n) * D + h * C + c] = static_cast<float>(o);
        }
      }
  SV_EXPECT_CLOSE(out, Tensor::from_vector(ref, {B, N, D}), 1e-5, "sdpa");
}

TEST(Ops, DepthwiseGluAndTemporalConv) {
  Context ctx(Device::CPU, 2);
  const int64_t B = 2, H = 3, W = 4, C = 5;
  Tensor x = randn({B, H, W, 2 * C}, 13), w = randn({2 * C, 1, 3, 3}, 14), b = randn({2 * C}, 15);
  Tensor y = ops::depthwise_conv3x3_glu(ctx, x, w, b);
  const auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  auto conv = [&](int64_t bi, int64_t yy, int64_t xx, int64_t c) {
    double s = bv[c];
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx) {
        const int64_t sy = yy + ky - 1, sx = xx + kx - 1;
        if (sy >= 0 && sy < H && sx >= 0 && sx < W) s += double(wv[c * 9 + ky * 3 + kx]) * xv[((bi * H + sy) * W + sx) * 2 * C + c];
      }
    return s;
  };
  std::vector<float> ref(static_cast<size_t>(B * H * W * C));
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t yy = 0; yy < H; ++yy)
      for (int64_t xx = 0; xx < W; ++xx)
        for (int64_t c = 0; c < C; ++c) {
          const double u = conv(bi, yy, xx, c), g = conv(bi, yy, xx, C + c);
          ref[((bi * H + yy) * W + xx) * C + c] = static_cast<float>(u * g / (1 + std::exp(-g)));
        }
  SV_EXPECT_CLOSE(y, Tensor::from_vector(ref, {B, H, W, C}), 1e-5, "depthwise glu");

  const int64_t F = 4, P = 3, Dm = 6;
  Tensor t = randn({B, F, P, Dm}, 16), tw = randn({Dm, Dm, 3, 1}, 17);
  Tensor ty = ops::temporal_conv3_residual(ctx, t, tw);
  const auto tv = t.to_vector(), twv = tw.to_vector();
  std::vector<float> tref(tv.size());
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t o = 0; o < Dm; ++o) {
          double s = tv[((bi * F + f) * P + p) * Dm + o];
          for (int64_t k = 0; k < 3; ++k) {
            const int64_t sf = f + k - 1;
            if (sf < 0 || sf >= F) continue;
            for (int64_t i = 0; i < Dm; ++i) s += double(twv[(o * Dm + i) * 3 + k]) * tv[((bi * F + sf) * P + p) * Dm + i];
          }
          tref[((bi * F + f) * P + p) * Dm + o] = static_cast<float>(s);
        }
  SV_EXPECT_CLOSE(ty, Tensor::from_vector(tref, {B, F, P, Dm}), 1e-5, "temporal conv");
}

TEST(Ops, PatchEmbedIsConv3dAndUnpatchifyInverts) {
  Context ctx(Device::CPU, 2);
  const int64_t B = 1, C = 2, F = 3, H = 4, W = 6, D = 3;
  Tensor x = randn({B, C, F, H, W}, 18), w = randn({D, C, 1, 2, 3}, 19), b = randn({D}, 20);
  Tensor y = ops::patch_embed(ctx, x, w, b);  // [1, 3*2*2, 3]
  ASSERT_EQ(y.shape(), Shape({1, 12, 3}));
  const auto xv = x.to_vector(), wv = w.to_vector(), yv = y.to_vector();
  // token n = (f*2 + h)*2 + w; check one token directly.
  const int64_t f = 2, hh = 1, ww = 1, n = (f * 2 + hh) * 2 + ww, d = 2;
  double s = b.to_vector()[d];
  for (int64_t c = 0; c < C; ++c)
    for (int64_t ih = 0; ih < 2; ++ih)
      for (int64_t iw = 0; iw < 3; ++iw)
        s += double(wv[((d * C + c) * 2 + ih) * 3 + iw]) * xv[((c * F + f) * H + hh * 2 + ih) * W + ww * 3 + iw];
  EXPECT_NEAR(yv[n * D + d], s, 1e-5);
  // unpatchify(tokens with C*pt*ph*pw channels) is the exact inverse of a (1,2,3) space-to-depth.
  Tensor img = randn({1, 2, 3, 4, 6}, 21);
  std::vector<float> tok(static_cast<size_t>(12 * 12));
  const auto iv = img.to_vector();
  for (int64_t fi = 0; fi < 3; ++fi)
    for (int64_t hi = 0; hi < 2; ++hi)
      for (int64_t wi = 0; wi < 2; ++wi)
        for (int64_t ih = 0; ih < 2; ++ih)
          for (int64_t iw = 0; iw < 3; ++iw)
            for (int64_t c = 0; c < 2; ++c)
              tok[((fi * 2 + hi) * 2 + wi) * 12 + (ih * 3 + iw) * 2 + c] = iv[((c * 3 + fi) * 4 + hi * 2 + ih) * 6 + wi * 3 + iw];
  Tensor back = ops::unpatchify(ctx, Tensor::from_vector(tok, {1, 12, 12}), 3, 2, 2, 1, 2, 3);
  EXPECT_EQ(back.to_vector(), iv);
}

TEST(Ops, NormsAndModulation) {
  Context ctx(Device::CPU, 2);
  const int64_t B = 2, N = 3, D = 8;
  Tensor x = randn({B, N, D}, 22, 3.0f), tab = randn({B, 1, 2, D}, 23);
  Tensor y = ops::layer_norm_modulate(ctx, x, Tensor(), Tensor(), tab.select(2, 0), tab.select(2, 1), 1e-6f);
  const auto xv = x.to_vector(), tv = tab.to_vector(), yv = y.to_vector();
  for (int64_t r = 0; r < B * N; ++r) {
    double m = 0, v = 0;
    for (int64_t d = 0; d < D; ++d) m += xv[r * D + d];
    m /= D;
    for (int64_t d = 0; d < D; ++d) v += (xv[r * D + d] - m) * (xv[r * D + d] - m);
    v /= D;
    const int64_t b = r / N;
    for (int64_t d = 0; d < D; ++d) {
      const double e = (xv[r * D + d] - m) / std::sqrt(v + 1e-6) * (1 + tv[(b * 2 + 1) * D + d]) + tv[(b * 2) * D + d];
      EXPECT_NEAR(yv[r * D + d], e, 1e-5);
    }
  }
  Tensor w = randn({D}, 24);
  Tensor r = ops::rms_norm(ctx, x, w, 1e-5f);
  const auto rv = r.to_vector(), wv = w.to_vector();
  double ss = 0;
  for (int64_t d = 0; d < D; ++d) ss += double(xv[d]) * xv[d];
  EXPECT_NEAR(rv[3], xv[3] / std::sqrt(ss / D + 1e-5) * wv[3], 1e-5);
  // Per-token gate broadcasting.
  Tensor acc = x.clone(), gate = randn({B, N, D}, 25), add = randn({B, N, D}, 26);
  ops::add_gated_(ctx, acc, gate, add);
  EXPECT_NEAR(acc.to_vector()[13], xv[13] + gate.to_vector()[13] * add.to_vector()[13], 1e-6);
  EXPECT_THROW(ops::add_gated_(ctx, acc, randn({B, 2, D}, 27), add), Error);
}

TEST(Ops, TimestepEmbeddingCosFirst) {
  Context ctx(Device::CPU, 1);
  Tensor e = ops::timestep_embedding(ctx, Tensor::from_vector({0.0f, 500.0f}, {2}), 8, true, 0.0f);
  const auto v = e.to_vector();
  EXPECT_EQ(v[0], 1.0f);  // cos(0)
  EXPECT_EQ(v[4], 0.0f);  // sin(0)
  const double f1 = std::exp(-std::log(10000.0) / 4);
  EXPECT_NEAR(v[8 + 1], std::cos(500 * f1), 1e-4);
  EXPECT_NEAR(v[8 + 5], std::sin(500 * f1), 1e-4);
}

}  // namespace
}  // namespace sv
