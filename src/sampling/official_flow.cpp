#include "sampling/official_flow.h"

#include <cmath>

#include "core/error.h"
#include "ops/ops.h"

namespace sv::sampling {

namespace {
float lambda(float t) { return std::log(1.0f - t) - std::log(t); }  // +inf at t = 0
}  // namespace

OfficialFlowDpm::OfficialFlowDpm(int steps, double shift) {
  SV_CHECK(steps >= 2 && steps <= 10000, "the official DPM-Solver takes 2 to 10000 steps (order 2), got ", steps);
  SV_CHECK(shift > 0 && std::isfinite(shift), "flow shift must be positive, got ", shift);
  // torch.linspace(1, 0.001, N + 1) in fp32: from the start for the first half, from the end for the rest.
  const int64_t n = steps + 1, half = n / 2;
  const float start = 1.0f, end = 0.001f, delta = (end - start) / static_cast<float>(n - 1);
  std::vector<float> s(static_cast<size_t>(n));
  const float fs = static_cast<float>(shift), fs1 = static_cast<float>(shift - 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const float beta = i < half ? start + delta * static_cast<float>(i) : end - delta * static_cast<float>(n - i - 1);
    const float sg = 1.0f - beta;
    s[i] = fs * sg / (1.0f + fs1 * sg);
  }
  times_.assign(s.rbegin(), s.rend());
}

Tensor OfficialFlowDpm::step(Context& ctx, const Tensor& x, const Tensor& v, float guidance, int i) {
  SV_CHECK(i == next_ && i < steps(), "sampler: step ", i, " out of order (expected ", next_, ")");
  const float t_prev = times_[i], t = times_[i + 1];
  // Guidance only strictly inside (0, 1), as the wrapper's interval check; outside it the conditional
  // branch alone (never reached on this schedule: t_0 < 1 and the model is not called at t = 0).
  const bool outside = v.size(0) == 2 * x.size(0) && !(t_prev > 0.0f && t_prev < 1.0f);
  const Tensor x0 = ops::flow_dpm_x0(ctx, x, outside ? v.narrow(0, x.size(0), x.size(0)) : v, t_prev, guidance);
  // sigma = t, alpha = exp(log(1 - t)), phi = expm1(-h), h = lambda(t) - lambda(t_prev).
  const float h = lambda(t) - lambda(t_prev);
  const float alpha_t = std::exp(std::log(1.0f - t));
  const float phi = std::expm1(-h);
  const bool first_order = i == 0 || i == steps() - 1;
  Tensor out;
  if (first_order) {
    out = ops::axpby(ctx, t / t_prev, x, alpha_t * phi, x0);
  } else {
    const float t_prev2 = times_[i - 1];
    const float h0 = lambda(t_prev) - lambda(t_prev2);
    const float r0 = h0 / h;
    out = ops::dpm_2m_update(ctx, x, x0, prev_x0_, t / t_prev, alpha_t * phi, 0.5f * (alpha_t * phi), 1.0f / r0);
  }
  prev_x0_ = x0;
  ++next_;
  return out;
}

LtxFlowEuler::LtxFlowEuler(int steps, double shift) : euler_(1000, shift) {
  SV_CHECK(steps >= 1 && steps <= 10000, "image-to-video takes 1 to 10000 steps, got ", steps);
  euler_.set_timesteps(steps);
}

Tensor LtxFlowEuler::step(Context& ctx, const Tensor& x, const Tensor& v, int i) {
  SV_CHECK(i >= 0 && i < steps(), "sampler: step ", i, " out of range");
  SV_CHECK(x.dim() == 5 && v.shape() == x.shape(), "image-to-video step: x and v must be one [B, C, F, H, W]");
  // scheduler.step(-v, per_token_timesteps): dt = t / 1000 - next lower sigma, x - dt v.
  const float dt = euler_.timesteps()[i] / 1000.0f - euler_.sigmas()[i + 1];
  Tensor out = ops::axpby(ctx, 1.0f, x, dt, v);
  ops::copy_(ctx, x.narrow(2, 0, 1), out.narrow(2, 0, 1));
  return out;
}

Dmd4Step::Dmd4Step(std::vector<double> sigmas) : sigmas_(std::move(sigmas)) {
  SV_CHECK(!sigmas_.empty(), "the DMD sampler needs at least one sigma");
  for (size_t i = 0; i < sigmas_.size(); ++i)
    SV_CHECK(sigmas_[i] > 0 && sigmas_[i] <= 1 && (i == 0 || sigmas_[i] < sigmas_[i - 1]),
             "DMD sigmas must descend within (0, 1]");
}

Tensor Dmd4Step::step(Context& ctx, const Tensor& x, const Tensor& v, int i, TorchGenerator& gen) {
  SV_CHECK(i >= 0 && i < steps(), "DMD step ", i, " out of range");
  // Python float scalars meet fp32 tensors as fp32 values.
  const Tensor x0 = ops::axpby(ctx, 1.0f, x, static_cast<float>(sigmas_[i]), v);
  if (i + 1 == steps()) return x0;
  const double next = sigmas_[i + 1];
  const Tensor noise = ctx.to_device(gen.randn(x.shape()));
  return ops::axpby(ctx, static_cast<float>(1.0 - next), x0, -static_cast<float>(next), noise);
}

}  // namespace sv::sampling
