#include "core/rng.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace sv {

void TorchGenerator::manual_seed(uint64_t seed) {
  state_[0] = static_cast<uint32_t>(seed & 0xffffffffu);
  for (int j = 1; j < 624; ++j) state_[j] = 1812433253u * (state_[j - 1] ^ (state_[j - 1] >> 30)) + static_cast<uint32_t>(j);
  index_ = 624;
  has_next_normal_ = false;
}

void TorchGenerator::twist() {
  constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrix = 0x9908b0dfu;
  for (int i = 0; i < 624; ++i) {
    const uint32_t y = (state_[i] & kUpper) | (state_[(i + 1) % 624] & kLower);
    state_[i] = state_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
  }
  index_ = 0;
}

uint32_t TorchGenerator::random() {
  if (index_ >= 624) twist();
  uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t TorchGenerator::random64() {
  const uint64_t hi = random(), lo = random();
  return (hi << 32) | lo;
}

namespace {
inline float uniform_float(uint32_t v) { return static_cast<float>(v & ((1u << 24) - 1)) * (1.0f / (1u << 24)); }
inline double uniform_double(uint64_t v) {
  return static_cast<double>(v & ((uint64_t(1) << 53) - 1)) * (1.0 / static_cast<double>(uint64_t(1) << 53));
}

// Constants go through double first, as the reference's float arrays initialised from double literals.
constexpr float F(double v) { return static_cast<float>(v); }

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// torch.randn's AVX2 kernel (normal_fill_16_AVX2) evaluates log and sin/cos with the cephes
// single-precision polynomials of avx_mathfun.h, compiled by GCC with -mfma and its default
// contraction, which fuses every multiply whose only use is an add/subtract. These are the same
// operations one lane at a time with those fusions written out as std::fma (this file is built with
// -ffp-contract=off so nothing else fuses), so the floats agree bit for bit.
float cephes_logf(float x) {
  const bool invalid = x <= F(0.0);
  x = std::max(x, from_bits(0x00800000u));
  int32_t e_i = static_cast<int32_t>(bits(x) >> 23);
  x = from_bits((bits(x) & ~0x7f800000u) | bits(F(0.5)));
  e_i -= 0x7f;
  float e = static_cast<float>(e_i);
  e = e + F(1.0);
  const bool lt = x < F(0.707106781186547524);
  const float tmp0 = lt ? x : F(0.0);
  x = x - F(1.0);
  e = e - (lt ? F(1.0) : F(0.0));
  x = x + tmp0;
  const float z = x * x;
  static const float p[9] = {F(7.0376836292E-2),  F(-1.1514610310E-1), F(1.1676998740E-1),
                             F(-1.2420140846E-1), F(1.4249322787E-1),  F(-1.6668057665E-1),
                             F(2.0000714765E-1),  F(-2.4999993993E-1), F(3.3333331174E-1)};
  float y = p[0];
  for (int i = 1; i < 9; ++i) y = std::fma(y, x, p[i]);
  y = y * x;
  const float t1 = e * F(-2.12194440e-4);
  y = std::fma(y, z, t1);
  y = std::fma(-z, F(0.5), y);
  x = x + y;
  x = std::fma(e, F(0.693359375), x);
  return invalid ? std::numeric_limits<float>::quiet_NaN() : x;
}

void cephes_sincosf(float x, float* s, float* c) {
  uint32_t sign_sin = bits(x) & 0x80000000u;
  x = from_bits(bits(x) & 0x7fffffffu);
  float y = x * F(1.27323954473516);
  int32_t j = static_cast<int32_t>(y);  // truncation, as cvttps
  j = (j + 1) & ~1;
  y = static_cast<float>(j);
  const uint32_t swap_sin = static_cast<uint32_t>(j & 4) << 29;
  const bool poly = (j & 2) == 0;
  x = std::fma(y, F(-0.78515625), x);
  x = std::fma(y, F(-2.4187564849853515625e-4), x);
  x = std::fma(y, F(-3.77489497744594108e-8), x);
  const uint32_t sign_cos = static_cast<uint32_t>(~(j - 2) & 4) << 29;
  sign_sin ^= swap_sin;
  const float z = x * x;
  float yc = std::fma(F(2.443315711809948E-005), z, F(-1.388731625493765E-003));
  yc = std::fma(yc, z, F(4.166664568298827E-002));
  yc = yc * z;
  const float half_z = z * F(0.5);
  yc = std::fma(yc, z, -half_z);
  yc = yc + F(1.0);
  float ys = std::fma(F(-1.9515295891E-4), z, F(8.3321608736E-3));
  ys = std::fma(ys, z, F(-1.6666654611E-1));
  ys = ys * z;
  ys = std::fma(ys, x, x);
  const float ysin2 = poly ? ys : F(0.0), ysin1 = poly ? F(0.0) : yc;
  ys = ys - ysin2;
  yc = yc - ysin1;
  *s = from_bits(bits(ysin1 + ysin2) ^ sign_sin);
  *c = from_bits(bits(yc + ys) ^ sign_cos);
}

// Which kernel torch runs depends on the CPU capability ATen dispatches to: the AVX2 build uses the
// cephes path; AVX-512 and baseline builds use the scalar libm loop.
bool torch_uses_avx2_normal() {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                           !(__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq"));
  return avx2;
}

void normal_fill_16(float* d) {
  const bool avx2 = torch_uses_avx2_normal();
  const float two_pi = 2.0f * static_cast<float>(M_PI);
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j], u2 = d[j + 8];
    if (avx2) {
      const float radius = std::sqrt(-2.0f * cephes_logf(u1));
      float sn, cs;
      cephes_sincosf(two_pi * u2, &sn, &cs);
      d[j] = radius * cs;
      d[j + 8] = radius * sn;
    } else {
      // ATen's scalar normal_fill_16: theta = 2.0f * c10::pi<double> * u2 is evaluated in double.
      const float radius = std::sqrt(-2.0f * std::log(u1));
      const float theta = static_cast<float>(2.0 * M_PI * static_cast<double>(u2));
      d[j] = radius * std::cos(theta);
      d[j + 8] = radius * std::sin(theta);
    }
  }
}
}  // namespace

bool TorchGenerator::uses_avx2_kernel() { return torch_uses_avx2_normal(); }

Tensor TorchGenerator::randn(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  float* d = t.f32();
  const int64_t n = t.numel();
  if (n >= 16) {
    for (int64_t i = 0; i < n; ++i) d[i] = uniform_float(random());
    for (int64_t i = 0; i + 16 <= n; i += 16) normal_fill_16(d + i);
    if (n % 16 != 0) {  // torch redraws the last 16 values
      float* tail = d + n - 16;
      for (int i = 0; i < 16; ++i) tail[i] = uniform_float(random());
      normal_fill_16(tail);
    }
    return t;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (has_next_normal_) {
      has_next_normal_ = false;
      d[i] = static_cast<float>(next_normal_);
      continue;
    }
    const double u1 = uniform_double(random64()), u2 = uniform_double(random64());
    const double r = std::sqrt(-2.0 * std::log1p(-u2));
    const double theta = 2.0 * M_PI * u1;
    next_normal_ = r * std::sin(theta);
    has_next_normal_ = true;
    d[i] = static_cast<float>(r * std::cos(theta));
  }
  return t;
}

}  // namespace sv
