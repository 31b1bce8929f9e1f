// SANA-Video 2.0's samplers against NVIDIA's sampler code (tools/reference/make_sv2_sampler_goldens.py) on
// the same deterministic toy model: v = tanh(x) (0.5 + 0.1 c) - x t / 1000, c = +1 cond / -1 uncond.
#include <cmath>

#include "io/safetensors.h"
#include "ops/ops.h"
#include "sampling/official_flow.h"
#include "test_util.h"

namespace sv {
namespace {

const std::string kDir = std::string(SV_TEST_DATA) + "/sana_video2/samplers/";

// One branch of the toy model on x [B, C, F, H, W]; t per frame (size F) or one value.
Tensor toy(const Tensor& x, float c, const std::vector<float>& t_frames) {
  Tensor v = Tensor::empty(x.shape());
  const int64_t F = x.size(2), S = x.size(3) * x.size(4), n = x.numel();
  const float k = 0.5f + 0.1f * c;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t f = (i / S) % F;
    const float t = t_frames.size() == 1 ? t_frames[0] : t_frames[static_cast<size_t>(f)];
    v.f32()[i] = std::tanh(x.f32()[i]) * k - x.f32()[i] * (t / 1000.0f);
  }
  return v;
}

// [uncond; cond] as the samplers batch them.
Tensor toy_cfg(Context& ctx, const Tensor& x, float t) {
  return ops::cat(ctx, {toy(x, -1.0f, {t}), toy(x, 1.0f, {t})}, 0);
}

struct Golden {
  Tensor x_init, x_final, timesteps;
  explicit Golden(const std::string& name) {
    const io::TensorSource g = io::TensorSource::open(kDir + name + ".safetensors");
    x_init = g.get("x_init"), x_final = g.get("x_final"), timesteps = g.get("model_timesteps");
  }
};

void run_dpm(const std::string& name, int steps, double shift, float guidance) {
  const Golden g(name);
  Context ctx(Device::CPU, 1);
  sampling::OfficialFlowDpm dpm(steps, shift);
  ASSERT_EQ(g.timesteps.size(0), steps);
  Tensor x = g.x_init;
  for (int i = 0; i < steps; ++i) {
    const float t = dpm.model_timestep(i);
    // torch.linspace's vector lanes add `step` to a chunk base: one ulp of t from the per-index formula.
    const float ref = g.timesteps.f32()[i * g.timesteps.size(1)];
    EXPECT_LE(std::fabs(t - ref), 4 * (std::nextafter(ref, 2000.0f) - ref)) << name << " step " << i;
    const Tensor v = guidance > 1.0f ? toy_cfg(ctx, x, t) : toy(x, 1.0f, {t});
    x = dpm.step(ctx, x, v, guidance, i);
  }
  SV_EXPECT_CLOSE(x, g.x_final, 1e-5, name);
}

TEST(SanaVideo2Samplers, OfficialDpmSolver50StepsCfg8Shift12) { run_dpm("dpm_50", 50, 12.0, 8.0f); }
TEST(SanaVideo2Samplers, OfficialDpmSolverFewStepsKeepsSecondOrderToTheEnd) { run_dpm("dpm_5", 5, 12.0, 8.0f); }
TEST(SanaVideo2Samplers, OfficialDpmSolverWithoutGuidance) { run_dpm("dpm_7_nocfg", 7, 6.0, 1.0f); }

TEST(SanaVideo2Samplers, ImageToVideoEulerKeepsTheConditioningFrame) {
  const Golden g("ltx_euler_6");
  Context ctx(Device::CPU, 1);
  sampling::LtxFlowEuler euler(6, 12.0);
  Tensor x = g.x_init;
  const int64_t F = x.size(2);
  for (int i = 0; i < euler.steps(); ++i) {
    std::vector<float> tf(static_cast<size_t>(F), euler.model_timestep(i));
    tf[0] = 0.0f;
    for (int64_t f = 0; f < F; ++f) EXPECT_EQ(tf[f], g.timesteps.f32()[i * g.timesteps.size(1) + f]) << i << "," << f;
    const Tensor v = ops::cfg_combine(ctx, ops::cat(ctx, {toy(x, -1.0f, tf), toy(x, 1.0f, tf)}, 0), 8.0f);
    x = euler.step(ctx, x, v, i);
  }
  SV_EXPECT_CLOSE(x, g.x_final, 1e-5, "ltx_euler_6");
  const Tensor f0 = x.narrow(2, 0, 1).contiguous(), r0 = g.x_init.narrow(2, 0, 1).contiguous();
  EXPECT_EQ(std::memcmp(f0.raw(), r0.raw(), f0.nbytes()), 0) << "frame 0 changed";
}

TEST(SanaVideo2Samplers, Dmd4StepWithTheCallersGenerator) {
  const Golden g("dmd_4");
  Context ctx(Device::CPU, 1);
  TorchGenerator gen(4);
  Tensor x = gen.randn(g.x_init.shape());
  // torch's normal kernel depends on its CPU dispatch (the golden: torch 2.11's AVX-512 path): a few ulp.
  SV_EXPECT_CLOSE(x, g.x_init, 1e-5, "initial noise");
  sampling::Dmd4Step dmd;
  for (int i = 0; i < dmd.steps(); ++i) {
    const float t = dmd.model_timestep(i);
    EXPECT_EQ(t, g.timesteps.f32()[i]) << i;
    x = dmd.step(ctx, x, toy(x, 1.0f, {t}), i, gen);
  }
  SV_EXPECT_CLOSE(x, g.x_final, 1e-5, "dmd_4");
}

TEST(SanaVideo2Samplers, BadSettingsAreErrors) {
  EXPECT_THROW(sampling::OfficialFlowDpm(1, 12.0), Error);
  EXPECT_THROW(sampling::OfficialFlowDpm(50, 0.0), Error);
  EXPECT_THROW(sampling::Dmd4Step({0.5, 0.9}), Error);
  sampling::OfficialFlowDpm dpm(4, 12.0);
  Context ctx(Device::CPU, 1);
  const Tensor x = Tensor::zeros({1, 2, 1, 2, 2});
  EXPECT_THROW(dpm.step(ctx, x, x, 1.0f, 1), Error);  // out of order
}

}  // namespace
}  // namespace sv
