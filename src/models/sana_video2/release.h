// The SANA-Video 2.0 release as it ships (a .pth state dict and the training config.yaml), turned into a
// folder the engine memory-maps: transformer/config.json + transformer/diffusion_pytorch_model.safetensors
// under the official parameter names, and a model_index.json naming the family.
#pragma once
#include <string>

#include "models/sana_video2/config.h"

namespace sv::sana_video2 {

// The transformer configuration from the official config.yaml's model/vae/text_encoder sections. A value
// the engine does not implement is an error naming its key.
Config config_from_yaml(const std::string& path);

// The release's generation settings from config.yaml, as generation_defaults.json: size from
// model.image_size (720: 1280 x 736, 480: 832 x 480), data.num_frames / data.target_fps, 50 steps,
// guidance 8, the scheduler's (inference_)flow_shift, motion score 20, the inference CLI's negative
// prompt, text_encoder.chi_prompt and model_max_length. (For the 4-step preview, add "sampler": "dmd",
// "steps": 4 and "guidance_scale": 1 to the folder's generation_defaults.json, or pass them per call.)
nlohmann::json generation_defaults_from_yaml(const std::string& path);

struct ConvertReport {
  std::string state_dict_key;  // top-level entry the weights came from ("" = the root)
  int64_t tensors = 0;
  uint64_t bytes = 0;
  std::vector<std::string> skipped;  // non-tensor entries of the state dict
};

// Writes `out_dir` (which must not exist yet; written under a temporary name and renamed once the engine
// has bound every weight of it). `key`: the state dict's top-level entry, empty to pick it.
ConvertReport convert_release(const std::string& pth, const std::string& yaml, const std::string& out_dir,
                              const std::string& key = "");

}  // namespace sv::sana_video2
