// Flow schedulers against diffusers, step for step (tests/golden/sched, written by
// tools/reference/make_sched_goldens.py from the configs diffusers' save_config writes).
#include "io/safetensors.h"
#include "sampling/schedulers.h"
#include "test_util.h"

namespace sv {
namespace {

struct Case {
  const char* file;
  const char* config;
  double shift;  // overrides the saved config's shift when the case used another one
};

class SchedulerGolden : public ::testing::TestWithParam<Case> {};

TEST_P(SchedulerGolden, MatchesDiffusersStepForStep) {
  const Case c = GetParam();
  const io::TensorSource ref = io::TensorSource::open(test::golden(std::string("sched/") + c.file + ".safetensors"));
  auto cfg = io::JsonConfig::load(test::golden(std::string("sched/") + c.config + "/scheduler_config.json"));
  auto sched = sampling::Scheduler::from_config(cfg, c.shift);
  const std::vector<float> want_t = ref.get("timesteps").to_vector(), want_s = ref.get("sigmas").to_vector();
  sched->set_timesteps(static_cast<int>(want_t.size()));
  EXPECT_EQ(sched->timesteps(), want_t) << "timesteps";
  ASSERT_EQ(sched->sigmas().size(), want_s.size());
  for (size_t i = 0; i < want_s.size(); ++i) EXPECT_EQ(sched->sigmas()[i], want_s[i]) << "sigma " << i;
  Context ctx(Device::CPU, 1);
  Tensor x = ref.get("sample_0");
  for (size_t i = 0; i < want_t.size(); ++i) {
    x = sched->step(ctx, ref.get("model_output_" + std::to_string(i)), static_cast<int>(i), x);
    SV_EXPECT_CLOSE(x, ref.get("sample_" + std::to_string(i + 1)), 1e-5, std::string(c.file) + " step " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SchedulerGolden,
                         ::testing::Values(Case{"dpm_shift8_n2", "dpm_config", 0}, Case{"dpm_shift8_n4", "dpm_config", 0},
                                           Case{"dpm_shift8_n20", "dpm_config", 0}, Case{"dpm_shift8_n50", "dpm_config", 0},
                                           Case{"dpm_shift3_n12", "dpm_config", 3.0},
                                           Case{"euler_shift8_n5", "euler_config", 0},
                                           Case{"euler_shift8_n50", "euler_config", 0},
                                           Case{"euler_shift1_n7", "euler_config", 1.0},
                                           Case{"unipc_shift8_n1", "unipc_config", 0}, Case{"unipc_shift8_n2", "unipc_config", 0},
                                           Case{"unipc_shift8_n3", "unipc_config", 0}, Case{"unipc_shift8_n8", "unipc_config", 0},
                                           Case{"unipc_shift8_n50", "unipc_config", 0},
                                           Case{"unipc_shift3_n10", "unipc_config", 3.0}));

TEST(Scheduler, ConfigErrors) {
  // The saved DPM config carries Python's -Infinity literal; it must parse.
  auto cfg = io::JsonConfig::load(test::golden("sched/dpm_config/scheduler_config.json"));
  EXPECT_TRUE(std::isinf(cfg.get_float("lambda_min_clipped")));
  EXPECT_THROW(sampling::Scheduler::from_config(io::JsonConfig::parse(R"({"_class_name": "DDIMScheduler"})", "s.json")), Error);
  EXPECT_THROW(sampling::Scheduler::from_config(io::JsonConfig::parse(
                   R"({"_class_name": "DPMSolverMultistepScheduler", "use_flow_sigmas": false})", "s.json")),
               Error);
  // Found by fuzzing: a shift of 0 made sigma 0/0 and the timestep cast undefined; refused at load now.
  for (const char* cls : {"UniPCMultistepScheduler", "DPMSolverMultistepScheduler"}) {
    for (const char* bad : {R"("flow_shift": 0.0)", R"("flow_shift": -3)", R"("num_train_timesteps": 0)"}) {
      const std::string text = std::string(R"({"_class_name": ")") + cls +
                               R"(", "use_flow_sigmas": true, "prediction_type": "flow_prediction", )" + bad + "}";
      try {
        sampling::Scheduler::from_config(io::JsonConfig::parse(text, "s.json"));
        ADD_FAILURE() << text;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(bad[1] == 'f' ? "flow_shift" : "num_train_timesteps"), std::string::npos);
      }
    }
  }
  EXPECT_THROW(sampling::Scheduler::from_config(io::JsonConfig::parse(
                   R"({"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 0})", "s.json")),
               Error);
  auto s = sampling::Scheduler::from_config(cfg);
  EXPECT_THROW(s->set_timesteps(0), Error);
  s->set_timesteps(3);
  Context ctx(Device::CPU, 1);
  EXPECT_THROW(s->step(ctx, Tensor::zeros({2}), 1, Tensor::zeros({2})), Error);  // out of order
  EXPECT_THROW(s->step(ctx, Tensor::zeros({2}), 0, Tensor::zeros({3})), Error);  // shapes
}

}  // namespace
}  // namespace sv
