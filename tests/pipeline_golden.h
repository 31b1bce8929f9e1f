// End-to-end pipeline goldens (make_pipeline_goldens.py, make_ltx2_goldens.py): a cases.json entry as
// GenerateParams, and one generate compared with diffusers' final latents and "np" frames.
#pragma once
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "ops/ops.h"
#include "pipeline/sana_video_pipeline.h"
#include "test_util.h"

namespace sv::test {

inline pipeline::GenerateParams params_from_case(const nlohmann::json& meta) {
  pipeline::GenerateParams p;
  p.prompt = meta["prompt"].get<std::string>();
  p.negative_prompt = meta["negative_prompt"].get<std::string>();
  p.steps = meta["num_inference_steps"].get<int>();
  p.guidance_scale = meta["guidance_scale"].get<double>();
  p.seed = meta["seed"].get<uint64_t>();
  p.height = meta["height"].get<int>();
  p.width = meta["width"].get<int>();
  p.frames = meta["frames"].get<int>();
  if (meta.contains("image")) p.image_path = golden(meta["image"].get<std::string>());
  const std::string sched = meta.value("scheduler", "");
  if (sched == "FlowMatchEulerDiscreteScheduler") {
    p.sampler = "euler";
    p.shift = 8.0;
  } else if (sched == "UniPCMultistepScheduler") {
    p.sampler = "unipc";
    p.shift = 8.0;
  }
  return p;
}

// Final latents within 1e-3 * max |ref|; frames (ours [1, 3, F, H, W], unclamped, mapped as diffusers'
// (x / 2 + 0.5).clamp(0, 1)) against diffusers' [1, F, H, W, 3] at >= 50 dB PSNR.
inline void expect_generate_matches(const pipeline::SanaVideoPipeline& pipe, const pipeline::GenerateParams& p,
                                    const std::string& golden_file) {
  Context ctx(Device::CPU, 2);
  std::vector<Tensor> chunks;
  pipeline::GenerateCallbacks cb;
  cb.on_frames = [&](const Tensor& f) { chunks.push_back(f); };
  const pipeline::GenerateResult r = pipe.generate(ctx, p, cb);
  const io::TensorSource ref = io::TensorSource::open(golden_file);
  SV_EXPECT_CLOSE(r.latents, ref.get("latents"), 1e-3, "final latents");
  const Tensor ours = ops::cat(ctx, chunks, 2).permute({0, 2, 3, 4, 1}).contiguous();
  std::vector<float> a = ours.to_vector();
  for (float& v : a) v = std::min(1.0f, std::max(0.0f, v * 0.5f + 0.5f));
  const std::vector<float> b = ref.get("frames").to_vector();
  ASSERT_EQ(a.size(), b.size());
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) se += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  const double mse = se / static_cast<double>(a.size());
  const double db = mse == 0 ? 200.0 : 10.0 * std::log10(1.0 / mse);
  EXPECT_GE(db, 50.0) << "frames PSNR " << db << " dB";
}

}  // namespace sv::test
