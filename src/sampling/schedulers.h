// Flow-matching schedulers, step for step with diffusers:
//  * DPMSolverMultistepScheduler in SANA-Video's configuration (use_flow_sigmas, flow_prediction,
//    flow_shift, dpmsolver++, order 1 or 2, midpoint/heun, lower-order final, final sigma zero;
//    integer model timesteps),
//  * FlowMatchEulerDiscreteScheduler (shift, float timesteps).
// Scalar coefficients are computed in float32 like diffusers' 0-dim tensors; updates are
// elementwise float32.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "io/json_config.h"

namespace sv::sampling {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // scheduler/scheduler_config.json (diffusers save_config); `shift` > 0 overrides the file's shift.
  static std::unique_ptr<Scheduler> from_config(const io::JsonConfig& cfg, double shift_override = 0);

  virtual void set_timesteps(int num_inference_steps) = 0;
  // What the transformer sees at step i (integers for DPM-Solver, floats for Euler).
  const std::vector<float>& timesteps() const { return timesteps_; }
  const std::vector<float>& sigmas() const { return sigmas_; }
  // One update with the model's velocity at step `index` (steps must be taken in order).
  virtual Tensor step(Context& ctx, const Tensor& model_output, int index, const Tensor& sample) = 0;
  virtual std::string name() const = 0;

 protected:
  std::vector<float> timesteps_, sigmas_;
};

struct DpmConfig {
  int num_train_timesteps = 1000;
  double flow_shift = 1.0;
  int solver_order = 2;
  bool midpoint = true;  // solver_type midpoint (else heun)
  bool lower_order_final = true, euler_at_final = false;
  bool final_sigma_zero = true;
};

class FlowDpmSolverMultistep : public Scheduler {
 public:
  explicit FlowDpmSolverMultistep(const DpmConfig& c) : c_(c) {}
  void set_timesteps(int n) override;
  Tensor step(Context& ctx, const Tensor& model_output, int index, const Tensor& sample) override;
  std::string name() const override { return "DPMSolverMultistepScheduler"; }

 private:
  DpmConfig c_;
  Tensor prev_x0_;
  int lower_order_nums_ = 0, next_index_ = 0;
};

struct UniPCConfig {
  int num_train_timesteps = 1000;
  double flow_shift = 1.0;
  int solver_order = 2;
  bool bh2 = true;  // solver_type bh2 (else bh1)
  bool lower_order_final = true;
  std::vector<int> disable_corrector;
};

// UniPCMultistepScheduler with flow sigmas (predict_x0, orders 1 and 2, bh1/bh2, final sigma zero).
class FlowUniPC : public Scheduler {
 public:
  explicit FlowUniPC(const UniPCConfig& c) : c_(c) {}
  void set_timesteps(int n) override;
  Tensor step(Context& ctx, const Tensor& model_output, int index, const Tensor& sample) override;
  std::string name() const override { return "UniPCMultistepScheduler"; }

 private:
  UniPCConfig c_;
  Tensor m_prev_, m_last_, last_sample_;  // converted outputs (older, newest) and the previous sample
  int lower_order_nums_ = 0, this_order_ = 1, next_index_ = 0;
  float lambda(int i) const;
  void coefficients(float h, int order, float rk, float* rho0, float* rho1, float* hphi1, float* bh) const;
};

class FlowMatchEuler : public Scheduler {
 public:
  FlowMatchEuler(int num_train_timesteps, double shift) : train_(num_train_timesteps), shift_(shift) {}
  void set_timesteps(int n) override;
  Tensor step(Context& ctx, const Tensor& model_output, int index, const Tensor& sample) override;
  std::string name() const override { return "FlowMatchEulerDiscreteScheduler"; }

 private:
  int train_;
  double shift_;
  int next_index_ = 0;
};

}  // namespace sv::sampling
