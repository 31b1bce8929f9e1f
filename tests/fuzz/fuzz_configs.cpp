// Every JSON config the engine reads, through the loaders that read them: transformer, VAE, text
// encoder, scheduler (all classes), model_index / tokenizer_config / generation_defaults shapes.
#include "fuzz_util.h"
#include "io/json_config.h"
#include "models/gemma2/config.h"
#include "models/ltx2_vae/config.h"
#include "models/sana_dit/config.h"
#include "models/wan_vae/config.h"
#include "sampling/schedulers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  std::unique_ptr<io::JsonConfig> cfg;
  try {
    cfg = std::make_unique<io::JsonConfig>(io::JsonConfig::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json"));
  } catch (const std::exception&) {
    return 0;
  }
  try { (void)sana_dit::Config::from_json(*cfg); } catch (const std::exception&) {}
  try { (void)wan_vae::Config::from_json(*cfg); } catch (const std::exception&) {}
  try { (void)ltx2_vae::Config::from_json(*cfg); } catch (const std::exception&) {}
  try { (void)gemma2::Config::from_json(*cfg); } catch (const std::exception&) {}
  try {
    auto s = sampling::Scheduler::from_config(*cfg);
    if (s) s->set_timesteps(static_cast<int>(1 + size % 60));
  } catch (const std::exception&) {}
  // The generic accessors the pipeline's own readers use.
  for (const char* key : {"_class_name", "width", "height", "frames", "fps", "steps", "guidance_scale", "latents_mean",
                          "denoising_step_list", "shift", "model_max_length", "pad_token", "add_bos_token"}) {
    try { (void)cfg->get_string(key); } catch (const std::exception&) {}
    try { (void)cfg->get_int(key, 0); } catch (const std::exception&) {}
    try { (void)cfg->get_float(key, 0.0); } catch (const std::exception&) {}
    try { (void)cfg->get_int_list(key); } catch (const std::exception&) {}
  }
  return 0;
}
