#include "models/sana_video2/release.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "models/sana_video2/transformer.h"

namespace sv::sana_video2 {

namespace fs = std::filesystem;

namespace {

// One section of the config; every read names its key on error.
struct Section {
  YAML::Node node;
  std::string path, name;

  bool has(const char* k) const { return node && node.IsMap() && node[k] && !node[k].IsNull(); }
  template <typename T>
  T get(const char* k, const T& def) const {
    if (!has(k)) return def;
    try {
      return node[k].as<T>();
    } catch (const YAML::Exception&) {
      SV_THROW(path, ": ", name, ".", k, " has an unexpected value");
    }
  }
  template <typename T>
  void require(const char* k, const T& want, const char* what) const {
    if (!has(k)) return;
    const T v = get<T>(k, want);
    SV_CHECK(v == want, path, ": ", name, ".", k, " = ", v, " is not supported (", what, ")");
  }
};

}  // namespace

Config config_from_yaml(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    SV_THROW(path, ": not a readable YAML file (", e.what(), ")");
  }
  SV_CHECK(root.IsMap() && root["model"] && root["model"].IsMap(), path, ": no 'model' section");
  const Section m{root["model"], path, "model"};
  const Section vae{root["vae"], path, "vae"};
  const Section te{root["text_encoder"], path, "text_encoder"};
  Config c;
  const std::string arch = m.get<std::string>("model", "SanaVideo2_5B");
  if (arch == "SanaVideo2_5B") {
    c.depth = 32, c.hidden_size = 2560, c.num_heads = 20;
  } else if (arch == "SanaVideo2_14B") {
    c.depth = 40, c.hidden_size = 4096, c.num_heads = 32;
  } else if (arch == "SanaVideo2") {  // the class itself, sizes given in the section
    for (const char* k : {"hidden_size", "depth", "num_heads"})
      SV_CHECK(m.has(k), path, ": model.model = SanaVideo2 needs model.", k);
    c.depth = m.get<int64_t>("depth", 0), c.hidden_size = m.get<int64_t>("hidden_size", 0);
    c.num_heads = m.get<int64_t>("num_heads", 0);
  } else {
    SV_THROW(path, ": model.model = ", arch, " is not a SANA-Video 2.0 model (SanaVideo2_5B, SanaVideo2_14B)");
  }
  c.linear_head_dim = m.get<int64_t>("linear_head_dim", c.linear_head_dim);
  c.softmax_head_dim = m.get<int64_t>("softmax_head_dim", c.softmax_head_dim);
  c.attn_res_block_size = m.get<int64_t>("attn_res_block_size", c.attn_res_block_size);
  const double ratio = m.get<double>("softmax_ratio", 0.25);
  SV_CHECK(ratio > 0 && ratio <= 1 && c.depth > 0, path, ": model.softmax_ratio = ", ratio, " must lie in (0, 1]");
  c.softmax_layers = Config::softmax_layers_for(c.depth, ratio);
  const double mlp_ratio = m.get<double>("mlp_ratio", 4.0);
  SV_CHECK(mlp_ratio > 0 && mlp_ratio < 64, path, ": model.mlp_ratio = ", mlp_ratio, " is out of range");
  c.mlp_hidden = static_cast<int64_t>(static_cast<double>(c.hidden_size) * mlp_ratio);
  c.timestep_norm_scale_factor = m.get<double>("timestep_norm_scale_factor", 1.0);
  c.in_channels = c.out_channels = vae.get<int64_t>("vae_latent_dim", c.in_channels);
  c.caption_channels = te.get<int64_t>("caption_channels", c.caption_channels);

  m.require<std::string>("ffn_type", "SwiGLU", "SANA-Video 2.0 uses SwiGLU");
  m.require<bool>("use_pe", true, "the model needs its RoPE");
  m.require<std::string>("pos_embed_type", "wan_rope", "wan_rope");
  m.require<bool>("qk_norm", true, "q/k RMSNorm is part of every released layer");
  m.require<bool>("cross_norm", true, "cross-attention q/k RMSNorm is part of every released layer");
  m.require<bool>("pred_sigma", false, "the release predicts the velocity only");
  te.require<bool>("y_norm", true, "the caption RMSNorm is part of the release");
  SV_CHECK(!m.has("rope_fhw_dim"), path, ": model.rope_fhw_dim is not supported (the default Wan split)");
  if (m.has("patch_size")) {
    const auto p = m.node["patch_size"];
    SV_CHECK(p.IsSequence() && p.size() == 3 && p[0].as<int64_t>() == 1 && p[1].as<int64_t>() == 1 &&
                 p[2].as<int64_t>() == 1,
             path, ": model.patch_size must be [1, 1, 1]");
  }
  SV_CHECK(!m.has("patch_embed_kernel"), path, ": model.patch_embed_kernel is not supported (kernel = patch)");
  if (vae.has("vae_type")) {
    const std::string t = vae.get<std::string>("vae_type", "");
    SV_CHECK(t == "LTX2VAE_diffusers", path, ": vae.vae_type = ", t, " is not supported (LTX2VAE_diffusers)");
  }
  try {
    return Config::from_json(io::JsonConfig::parse(c.to_json().dump(), path));
  } catch (const Error& e) {
    SV_THROW(e.what());
  }
}

nlohmann::json generation_defaults_from_yaml(const std::string& path) {
  const YAML::Node root = YAML::LoadFile(path);  // already parsed once by config_from_yaml
  const Section m{root["model"], path, "model"}, data{root["data"], path, "data"};
  const Section te{root["text_encoder"], path, "text_encoder"}, sch{root["scheduler"], path, "scheduler"};
  const int64_t image_size = m.get<int64_t>("image_size", 720);
  SV_CHECK(image_size == 720 || image_size == 480, path, ": model.image_size = ", image_size,
           " is not supported (720 or 480)");
  nlohmann::json d = {{"width", image_size == 720 ? 1280 : 832},
                      {"height", image_size == 720 ? 736 : 480},
                      {"frames", data.get<int64_t>("num_frames", 81)},
                      {"fps", data.get<int64_t>("target_fps", 16)},
                      {"steps", 50},
                      {"guidance_scale", 8.0},
                      {"motion_score", 20},
                      // NVIDIA's inference CLI default (inference_sana_video.py), which the ports use too.
                      {"negative_prompt",
                       "A chaotic sequence with misshapen, deformed limbs in heavy motion blur, sudden disappearance, "
                       "jump cuts, jerky movements, rapid shot changes, frames out of sync, inconsistent character "
                       "shapes, temporal artifacts, jitter, and ghosting effects, creating a disorienting visual "
                       "experience."},
                      {"max_sequence_length", te.get<int64_t>("model_max_length", 300)}};
  double shift = sch.get<double>("inference_flow_shift", 0.0);
  if (shift <= 0) shift = sch.get<double>("flow_shift", 12.0);
  SV_CHECK(shift > 0 && shift < 1000, path, ": scheduler flow shift ", shift, " is out of range");
  d["shift"] = shift;
  if (te.has("chi_prompt")) {
    const YAML::Node chi = te.node["chi_prompt"];
    SV_CHECK(chi.IsSequence(), path, ": text_encoder.chi_prompt must be a list of lines");
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : chi) lines.push_back(l.as<std::string>());
    d["chi_prompt"] = lines;
  }
  return d;
}

ConvertReport convert_release(const std::string& pth, const std::string& yaml, const std::string& out_dir,
                              const std::string& key) {
  const Config cfg = config_from_yaml(yaml);
  const nlohmann::json defaults = generation_defaults_from_yaml(yaml);
  fs::path out = fs::path(out_dir);
  if (!out.has_filename()) out = out.parent_path();  // "DIR/" names DIR
  SV_CHECK(!out.empty() && !fs::exists(out), out_dir, ": already exists; choose a new output folder");
  const io::TorchCheckpoint ck = io::TorchCheckpoint::open(pth);
  ConvertReport rep;
  // The official loader's choice when several are present: state_dict before state_dict_ema.
  std::string k = key;
  if (k.empty() && !ck.root().get("generator"))
    for (const char* c : {"state_dict", "state_dict_ema"})
      if (ck.root().get(c) && ck.root().get(c)->is_dict()) {
        k = c;
        break;
      }
  auto sd = ck.state_dict(k, &rep.skipped, &rep.state_dict_key);
  // The official loader's normalisation: DataParallel / EMA wrapper prefixes go.
  for (auto& [name, t] : sd)
    for (const char* prefix : {"module.", "model."})
      if (name.rfind(prefix, 0) == 0) name = name.substr(std::string(prefix).size());

  const fs::path tmp = out.string() + ".partial";
  SV_CHECK(!fs::exists(tmp), tmp.string(), ": exists (another conversion running, or a stale one to remove)");
  try {
    fs::create_directories(tmp / "transformer");
    std::ofstream(tmp / "transformer" / "config.json") << cfg.to_json().dump(2) << "\n";
    io::write_safetensors((tmp / "transformer" / "diffusion_pytorch_model.safetensors").string(), sd,
                          {{"source", fs::path(pth).filename().string()}});
    nlohmann::json index = {{"_class_name", "SanaVideo2Pipeline"},
                            {"transformer", {"sana_video", "SanaVideo2Transformer"}},
                            {"_converted_from", fs::path(pth).filename().string()},
                            {"_state_dict_key", rep.state_dict_key}};
    std::ofstream(tmp / "model_index.json") << index.dump(2) << "\n";
    std::ofstream(tmp / "generation_defaults.json") << defaults.dump(2) << "\n";
    // Every weight must bind, with its shape, before the folder takes its name.
    try {
      Transformer::load((tmp / "transformer").string());
    } catch (const Error& e) {
      std::string why = e.what();
      const auto at = why.find(".safetensors: ");
      if (at != std::string::npos) why = why.substr(at + 14);
      SV_THROW(pth, " does not match ", yaml, ": ", why);
    }
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  rep.tensors = static_cast<int64_t>(sd.size());
  for (const auto& [n, t] : sd) rep.bytes += t.nbytes();
  return rep;
}

}  // namespace sv::sana_video2
