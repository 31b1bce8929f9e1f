#include "sampling/schedulers.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"

namespace sv::sampling {
namespace {

using ops::axpby;

void check_pair(const Tensor& m, const Tensor& s) {
  SV_CHECK(m.defined() && s.defined() && m.shape() == s.shape(), "scheduler step: model output ",
           m.defined() ? shape_str(m.shape()) : "?", " and sample ", s.defined() ? shape_str(s.shape()) : "?",
           " differ in shape");
}

}  // namespace

void FlowDpmSolverMultistep::set_timesteps(int n) {
  SV_CHECK(n > 0, "scheduler: the number of steps must be positive, got ", n);
  const double T = c_.num_train_timesteps, shift = c_.flow_shift;
  // numpy: alphas = linspace(1, 1/T, n + 1); sigmas = flip(shift s / (1 + (shift - 1) s))[:-1], s = 1 - alphas.
  std::vector<double> s(static_cast<size_t>(n + 1));
  const double start = 1.0, stop = 1.0 / T, step = (stop - start) / n;
  for (int i = 0; i <= n; ++i) {
    const double a = i == n ? stop : start + i * step;
    const double sg = 1.0 - a;
    s[i] = shift * sg / (1.0 + (shift - 1.0) * sg);
  }
  timesteps_.clear();
  sigmas_.clear();
  for (int i = n; i >= 1; --i) {  // flipped, dropping the 0 at index 0
    timesteps_.push_back(static_cast<float>(static_cast<int64_t>(s[i] * T)));  // float64 -> int64 truncates
    sigmas_.push_back(static_cast<float>(s[i]));
  }
  sigmas_.push_back(0.0f);
  prev_x0_ = Tensor();
  lower_order_nums_ = 0;
  next_index_ = 0;
}

Tensor FlowDpmSolverMultistep::step(Context& ctx, const Tensor& v_in, int i, const Tensor& x_in) {
  const int n = static_cast<int>(timesteps_.size());
  SV_CHECK(n > 0, "scheduler: set_timesteps was not called");
  SV_CHECK(i == next_index_ && i < n, "scheduler: step ", i, " out of order (expected ", next_index_, ")");
  check_pair(v_in, x_in);
  const Tensor v = v_in.to_f32(), x = x_in.to_f32();
  const bool lower_final = i == n - 1 && (c_.euler_at_final || (c_.lower_order_final && n < 15) || c_.final_sigma_zero);
  const bool lower_second = i == n - 2 && c_.lower_order_final && n < 15;
  // flow_prediction -> data prediction: x0 = x - sigma * v
  const Tensor x0 = axpby(ctx, 1.0f, x, sigmas_[i], v);
  // alpha = 1 - sigma, lambda = log(alpha) - log(sigma), all float32 like torch's 0-dim tensors.
  auto lam = [](float sigma) { return std::log(1.0f - sigma) - std::log(sigma); };
  const float sig_t = sigmas_[i + 1], sig_s0 = sigmas_[i], alpha_t = 1.0f - sig_t;
  const float h = lam(sig_t) - lam(sig_s0);
  const float em1 = std::exp(-h) - 1.0f;
  Tensor out;
  if (c_.solver_order == 1 || lower_order_nums_ < 1 || lower_final) {
    out = axpby(ctx, sig_t / sig_s0, x, alpha_t * em1, x0);
  } else {
    const float sig_s1 = sigmas_[i - 1];
    const float h0 = lam(sig_s0) - lam(sig_s1), r0 = h0 / h;
    const float inv_r0 = 1.0f / r0, c0 = alpha_t * em1;
    const float c1 = c_.midpoint ? 0.5f * c0 : -(alpha_t * (em1 / h + 1.0f));
    // D1 = (1 / r0) * (m0 - m1); x = (c * x - c0 * D0) - c1 * D1
    out = ops::dpm_2m_update(ctx, x, x0, prev_x0_, sig_t / sig_s0, c0, c1, inv_r0);
  }
  (void)lower_second;  // with solver_order <= 2 the second-to-last step is second order either way
  prev_x0_ = x0;
  if (lower_order_nums_ < c_.solver_order) ++lower_order_nums_;
  ++next_index_;
  return out;
}

void FlowMatchEuler::set_timesteps(int n) {
  SV_CHECK(n > 0, "scheduler: the number of steps must be positive, got ", n);
  // __init__ (float32 torch): sigma_max = 1, sigma_min = shifted(1/T).
  const float smin_raw = 1.0f / static_cast<float>(train_);
  const float fs = static_cast<float>(shift_);
  const float sigma_min = fs * smin_raw / (1.0f + (fs - 1.0f) * smin_raw);
  const double tmax = 1.0 * train_, tmin = static_cast<double>(sigma_min) * train_;
  timesteps_.clear();
  sigmas_.clear();
  for (int i = 0; i < n; ++i) {
    // np.linspace(tmax, tmin, n) in float64, / T, shifted again in float64, then float32.
    const double t = n == 1 ? tmax : (i == n - 1 ? tmin : tmax + i * ((tmin - tmax) / (n - 1)));
    const double sg = t / train_;
    const float s32 = static_cast<float>(shift_ * sg / (1.0 + (shift_ - 1.0) * sg));
    sigmas_.push_back(s32);
    timesteps_.push_back(s32 * static_cast<float>(train_));
  }
  sigmas_.push_back(0.0f);
  next_index_ = 0;
}

Tensor FlowMatchEuler::step(Context& ctx, const Tensor& v_in, int i, const Tensor& x_in) {
  const int n = static_cast<int>(timesteps_.size());
  SV_CHECK(n > 0, "scheduler: set_timesteps was not called");
  SV_CHECK(i == next_index_ && i < n, "scheduler: step ", i, " out of order (expected ", next_index_, ")");
  check_pair(v_in, x_in);
  const float dt = sigmas_[i + 1] - sigmas_[i];
  ++next_index_;
  // x + dt * v
  return axpby(ctx, 1.0f, x_in.to_f32(), -dt, v_in.to_f32());
}

void FlowUniPC::set_timesteps(int n) {
  SV_CHECK(n > 0, "scheduler: the number of steps must be positive, got ", n);
  const double T = c_.num_train_timesteps, shift = c_.flow_shift;
  // numpy: sigmas = linspace(1, 1/T, n + 1)[:-1], shifted; sigmas[0] -= 1e-6 when it is 1.
  const double step = (1.0 / T - 1.0) / n;
  std::vector<double> s(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double sg = 1.0 + i * step;
    s[i] = shift * sg / (1.0 + (shift - 1.0) * sg);
  }
  if (std::fabs(s[0] - 1.0) < 1e-6) s[0] -= 1e-6;
  timesteps_.clear();
  sigmas_.clear();
  for (int i = 0; i < n; ++i) {
    timesteps_.push_back(static_cast<float>(static_cast<int64_t>(s[i] * T)));
    sigmas_.push_back(static_cast<float>(s[i]));
  }
  sigmas_.push_back(0.0f);
  m_prev_ = m_last_ = last_sample_ = Tensor();
  lower_order_nums_ = 0;
  this_order_ = 1;
  next_index_ = 0;
}

float FlowUniPC::lambda(int i) const { return std::log(1.0f - sigmas_[i]) - std::log(sigmas_[i]); }

// The B(h) update coefficients of UniPC in float32, as diffusers' 0-dim tensor arithmetic: with
// order 2 the 2x2 system [[1, 1], [rk, 1]] rho = b is solved with partial pivoting (LAPACK sgesv).
void FlowUniPC::coefficients(float h, int order, float rk, float* rho0, float* rho1, float* hphi1, float* bh) const {
  const float hh = -h;
  const float h_phi_1 = std::expm1(hh);
  float h_phi_k = h_phi_1 / hh - 1.0f;
  const float B_h = c_.bh2 ? std::expm1(hh) : hh;
  float b[2] = {0, 0};
  float factorial = 1.0f;
  for (int i = 1; i <= order && i <= 2; ++i) {
    b[i - 1] = h_phi_k * factorial / B_h;
    factorial *= static_cast<float>(i + 1);
    h_phi_k = h_phi_k / hh - 1.0f / factorial;
  }
  *hphi1 = h_phi_1;
  *bh = B_h;
  if (order == 2) {
    float a00 = 1, a01 = 1, a10 = rk, a11 = 1, b0 = b[0], b1 = b[1];
    if (std::fabs(a10) > std::fabs(a00)) {
      std::swap(a00, a10);
      std::swap(a01, a11);
      std::swap(b0, b1);
    }
    const float l = a10 / a00;
    const float u11 = a11 - l * a01;
    const float y1 = b1 - l * b0;
    *rho1 = y1 / u11;
    *rho0 = (b0 - a01 * *rho1) / a00;
  } else {
    *rho0 = 0.5f;
    *rho1 = 0.0f;
  }
}

Tensor FlowUniPC::step(Context& ctx, const Tensor& v_in, int i, const Tensor& x_in) {
  const int n = static_cast<int>(timesteps_.size());
  SV_CHECK(n > 0, "scheduler: set_timesteps was not called");
  SV_CHECK(i == next_index_ && i < n, "scheduler: step ", i, " out of order (expected ", next_index_, ")");
  check_pair(v_in, x_in);
  const Tensor v = v_in.to_f32();
  Tensor x = x_in.to_f32();
  const Tensor m_t = axpby(ctx, 1.0f, x, sigmas_[i], v);  // x0 = x - sigma * v
  const bool use_corrector = i > 0 && last_sample_.defined() &&
                             std::find(c_.disable_corrector.begin(), c_.disable_corrector.end(), i - 1) ==
                                 c_.disable_corrector.end();
  if (use_corrector) {
    // UniC: refine the current sample with the new model output (order = last step's order).
    const float sig_t = sigmas_[i], sig_s0 = sigmas_[i - 1], alpha_t = 1.0f - sig_t;
    const float h = lambda(i) - lambda(i - 1);
    const int order = this_order_;
    const float rk = order == 2 ? (lambda(i - 2) - lambda(i - 1)) / h : 1.0f;
    float rho0, rho1, hphi1, bh;
    coefficients(h, order, rk, &rho0, &rho1, &hphi1, &bh);
    if (order == 1) rho1 = rho0;  // rhos_c = [0.5] is the coefficient of D1_t
    const float c1 = sig_t / sig_s0, c2 = alpha_t * hphi1, c3 = alpha_t * bh;
    x = ops::unipc_update(ctx, last_sample_, m_last_, order == 2 ? m_prev_ : Tensor(), m_t, c1, c2, c3, rho0, rho1, rk);
  }
  m_prev_ = m_last_;
  m_last_ = m_t;
  int order = c_.lower_order_final ? std::min(c_.solver_order, n - i) : c_.solver_order;
  order = std::min(order, lower_order_nums_ + 1);
  this_order_ = order;
  last_sample_ = x;
  // UniP predictor.
  const float sig_t = sigmas_[i + 1], sig_s0 = sigmas_[i], alpha_t = 1.0f - sig_t;
  const float h = lambda(i + 1) - lambda(i);
  const float rk = order == 2 ? (lambda(i - 1) - lambda(i)) / h : 1.0f;
  float rho0, rho1, hphi1, bh;
  coefficients(h, 1, rk, &rho0, &rho1, &hphi1, &bh);  // the predictor's rho for order 2 is fixed at 0.5
  const float c1 = sig_t / sig_s0, c2 = alpha_t * hphi1, c3 = alpha_t * bh;
  Tensor out = ops::unipc_update(ctx, x, m_last_, order == 2 ? m_prev_ : Tensor(), Tensor(), c1, c2, c3, 0.5f, 0.0f, rk);
  if (lower_order_nums_ < c_.solver_order) ++lower_order_nums_;
  ++next_index_;
  return out;
}

namespace {
// A shift of 0 makes sigma 0/0 at t = 1, and no training run has fewer than one step.
double config_shift(const io::JsonConfig& j, const char* key, double shift_override) {
  if (shift_override > 0) return shift_override;
  const double v = j.get_float(key, 1.0);
  SV_CHECK(std::isfinite(v) && v > 0, j.origin(), ": ", key, " must be a positive number, got ", v);
  return v;
}
int config_train_steps(const io::JsonConfig& j) {
  const int64_t v = j.get_int("num_train_timesteps", 1000);
  SV_CHECK(v >= 1 && v <= 1000000, j.origin(), ": num_train_timesteps must be in [1, 1000000], got ", v);
  return static_cast<int>(v);
}
}  // namespace

std::unique_ptr<Scheduler> Scheduler::from_config(const io::JsonConfig& j, double shift_override) {
  const std::string& f = j.origin();
  const std::string cls = j.get_string("_class_name");
  if (cls == "DPMSolverMultistepScheduler") {
    DpmConfig c;
    c.num_train_timesteps = config_train_steps(j);
    SV_CHECK(j.get_bool("use_flow_sigmas", false), f, ": only the flow configuration (use_flow_sigmas) is supported");
    const std::string pred = j.get_string("prediction_type", std::string("epsilon"));
    SV_CHECK(pred == "flow_prediction", f, ": prediction_type '", pred, "' is not supported (flow_prediction)");
    const std::string alg = j.get_string("algorithm_type", std::string("dpmsolver++"));
    SV_CHECK(alg == "dpmsolver++", f, ": algorithm_type '", alg, "' is not supported (dpmsolver++)");
    c.flow_shift = config_shift(j, "flow_shift", shift_override);
    c.solver_order = static_cast<int>(j.get_int("solver_order", 2));
    SV_CHECK(c.solver_order == 1 || c.solver_order == 2, f, ": solver_order ", c.solver_order, " is not supported (1 or 2)");
    const std::string st = j.get_string("solver_type", std::string("midpoint"));
    SV_CHECK(st == "midpoint" || st == "heun", f, ": unknown solver_type '", st, "'");
    c.midpoint = st == "midpoint";
    c.lower_order_final = j.get_bool("lower_order_final", true);
    c.euler_at_final = j.get_bool("euler_at_final", false);
    const std::string fin = j.get_string("final_sigmas_type", std::string("zero"));
    SV_CHECK(fin == "zero", f, ": final_sigmas_type '", fin, "' is not supported (zero)");
    for (const char* k : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "thresholding",
                          "use_dynamic_shifting", "use_lu_lambdas"})
      SV_CHECK(!j.get_bool(k, false), f, ": ", k, " is not supported");
    const std::string spacing = j.get_string("timestep_spacing", std::string("linspace"));
    (void)spacing;  // unused on the flow-sigma path, as in diffusers
    return std::make_unique<FlowDpmSolverMultistep>(c);
  }
  if (cls == "FlowMatchEulerDiscreteScheduler") {
    for (const char* k : {"use_dynamic_shifting", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                          "invert_sigmas", "stochastic_sampling"})
      SV_CHECK(!j.get_bool(k, false), f, ": ", k, " is not supported");
    SV_CHECK(!j.has("shift_terminal"), f, ": shift_terminal is not supported");
    const double shift = config_shift(j, "shift", shift_override);
    return std::make_unique<FlowMatchEuler>(config_train_steps(j), shift);
  }
  if (cls == "UniPCMultistepScheduler") {
    UniPCConfig c;
    c.num_train_timesteps = config_train_steps(j);
    SV_CHECK(j.get_bool("use_flow_sigmas", false), f, ": only the flow configuration (use_flow_sigmas) is supported");
    const std::string pred = j.get_string("prediction_type", std::string("epsilon"));
    SV_CHECK(pred == "flow_prediction", f, ": prediction_type '", pred, "' is not supported (flow_prediction)");
    SV_CHECK(j.get_bool("predict_x0", true), f, ": predict_x0 = false is not supported");
    c.flow_shift = config_shift(j, "flow_shift", shift_override);
    c.solver_order = static_cast<int>(j.get_int("solver_order", 2));
    SV_CHECK(c.solver_order == 1 || c.solver_order == 2, f, ": solver_order ", c.solver_order, " is not supported (1 or 2)");
    const std::string st = j.get_string("solver_type", std::string("bh2"));
    SV_CHECK(st == "bh1" || st == "bh2", f, ": unknown solver_type '", st, "'");
    c.bh2 = st == "bh2";
    c.lower_order_final = j.get_bool("lower_order_final", true);
    if (j.has("disable_corrector"))
      for (int64_t v : j.get_int_list("disable_corrector")) c.disable_corrector.push_back(static_cast<int>(v));
    const std::string fin = j.get_string("final_sigmas_type", std::string("zero"));
    SV_CHECK(fin == "zero", f, ": final_sigmas_type '", fin, "' is not supported (zero)");
    for (const char* k : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "thresholding",
                          "use_dynamic_shifting"})
      SV_CHECK(!j.get_bool(k, false), f, ": ", k, " is not supported");
    SV_CHECK(!j.has("shift_terminal"), f, ": shift_terminal is not supported");
    return std::make_unique<FlowUniPC>(c);
  }
  SV_THROW(f, ": unknown scheduler class '", cls,
           "' (DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler)");
}

}  // namespace sv::sampling
