// The samplers SANA-Video 2.0 ships with, step for step with NVIDIA's code (fp32 as torch computes it):
//  * OfficialFlowDpm: DPMS(model_type="flow", schedule="FLOW", guidance "classifier-free") sampled with
//    order 2, skip_type "time_uniform_flow", method "multistep", lower_order_final (NVlabs
//    diffusion/model/dpm_solver.py). Unlike diffusers' DPMSolverMultistepScheduler the model sees
//    1000 t as a float (the DiT truncates it), guidance is applied to the noise prediction, x0 is
//    (x - t eps) / (1 - t), and only the first and last steps are first order whatever the step count.
//  * Dmd4Step: FastVideoDMD4Step (diffusion/scheduler/fastvideo_dmd_sampler.py), the 4-step preview's
//    sampler: x0 = x - sigma v at four fixed sigmas, re-noised with a fresh draw between them.
//  * LtxFlowEuler: LTXFlowEuler (diffusion/scheduler/flow_euler_sampler.py), image-to-video: diffusers'
//    FlowMatchEuler sigmas, frame 0 clean (the model sees timestep 0 there), the others stepped with the
//    per-token sigma t / 1000 as diffusers' per_token_timesteps path does.
#pragma once
#include <vector>

#include "core/context.h"
#include "core/rng.h"
#include "sampling/schedulers.h"

namespace sv::sampling {

class OfficialFlowDpm {
 public:
  OfficialFlowDpm(int steps, double shift);
  int steps() const { return static_cast<int>(times_.size()) - 1; }
  // t_0 > t_1 > ... > t_N = 0.
  const std::vector<float>& times() const { return times_; }
  // What the model is called with at step i: 1000 t_i in fp32.
  float model_timestep(int i) const { return times_.at(static_cast<size_t>(i)) * 1000.0f; }
  // v: the model's velocity on x at times()[i], either [B, ...] or [uncond; cond] ([2B, ...]) combined with
  // `guidance`. Returns x at times()[i + 1]. Steps must be taken in order.
  Tensor step(Context& ctx, const Tensor& x, const Tensor& v, float guidance, int i);

 private:
  std::vector<float> times_;
  Tensor prev_x0_;
  int next_ = 0;
};

class LtxFlowEuler {
 public:
  LtxFlowEuler(int steps, double shift);
  int steps() const { return static_cast<int>(euler_.timesteps().size()); }
  // The timestep of every frame but the conditioning frame 0 (which gets 0).
  float model_timestep(int i) const { return euler_.timesteps().at(static_cast<size_t>(i)); }
  // v: the guided velocity on x [B, C, F, H, W] at step i; frame 0 comes back unchanged.
  Tensor step(Context& ctx, const Tensor& x, const Tensor& v, int i);

 private:
  FlowMatchEuler euler_;
};

class Dmd4Step {
 public:
  // The preview's "sana_shift6_dpm" profile.
  static std::vector<double> default_sigmas() { return {0.9998332262, 0.9471688271, 0.8568977118, 0.6663702130}; }
  explicit Dmd4Step(std::vector<double> sigmas = default_sigmas());
  int steps() const { return static_cast<int>(sigmas_.size()); }
  float model_timestep(int i) const { return static_cast<float>(1000.0 * sigmas_.at(static_cast<size_t>(i))); }
  // x0 = x - sigma_i v; before the last step the next input is (1 - sigma') x0 + sigma' noise with noise
  // drawn from `gen` (torch.randn on the same generator), else x0 itself.
  Tensor step(Context& ctx, const Tensor& x, const Tensor& v, int i, TorchGenerator& gen);

 private:
  std::vector<double> sigmas_;
};

}  // namespace sv::sampling
