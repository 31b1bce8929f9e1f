// `sana-video run transformer`: one forward of the DiT on tensors from a safetensors file.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "core/context.h"
#include "io/json_config.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"
#include "models/sana_video2/transformer.h"
#include "args.h"

namespace sv::cli {

namespace {

// The transformer folder and its class: DIR itself, or DIR/transformer of a converted 2.0 folder.
std::string transformer_class(std::string* dir) {
  namespace fs = std::filesystem;
  if (!fs::exists(fs::path(*dir) / "config.json") && fs::exists(fs::path(*dir) / "transformer" / "config.json"))
    *dir = (fs::path(*dir) / "transformer").string();
  const fs::path cfg = fs::path(*dir) / "config.json";
  if (!fs::exists(cfg)) return "";
  const io::JsonConfig j = io::JsonConfig::load(cfg.string());
  return j.get_string("_class_name", std::string());
}

// One forward, its named intermediates to --dump, `sample` to the output; model errors name the inputs.
int forward_and_write(Context& ctx, const std::function<Tensor()>& forward, const std::string& in_path,
                      const std::string& out_path, const Args& args, const std::string& cmd) {
  std::vector<std::pair<std::string, Tensor>> dumps;
  if (args.has("--dump")) ctx.set_dump([&](const std::string& n, const Tensor& t) { dumps.emplace_back(n, t.clone()); });
  Tensor sample;
  try {
    sample = forward();
  } catch (const Error& e) {
    SV_THROW(in_path, ": ", e.what());
  }
  if (args.has("--dump")) io::write_safetensors(args.get("--dump", cmd), dumps);
  io::write_safetensors(out_path, {{"sample", sample}});
  return 0;
}

int run_sana_video2(Context& ctx, const std::string& dir, const io::TensorSource& inputs, const std::string& in_path,
                    const std::string& out_path, const Args& args, const std::string& cmd) {
  auto model = sana_video2::Transformer::load(dir, &ctx);
  sana_video2::Inputs in;
  for (const std::string& n : inputs.names())
    SV_CHECK(n == "hidden_states" || n == "encoder_hidden_states" || n == "timestep" || n == "encoder_attention_mask",
             in_path, ": unexpected input tensor '", n, "'", n == "guidance" ? " (SANA-Video 2.0 has no guidance embedding)" : "");
  for (const char* n : {"hidden_states", "encoder_hidden_states", "timestep"})
    SV_CHECK(inputs.has(n), in_path, ": missing input tensor '", n, "'");
  in.hidden_states = inputs.get("hidden_states");
  in.encoder_hidden_states = inputs.get("encoder_hidden_states");
  in.timestep = inputs.get("timestep");
  if (inputs.has("encoder_attention_mask")) in.encoder_attention_mask = inputs.get("encoder_attention_mask");
  for (const Tensor* t : {&in.hidden_states, &in.encoder_hidden_states})
    SV_CHECK(dtype_is_float(t->dtype()), in_path, ": inputs must be floating point");
  return forward_and_write(ctx, [&] { return model->forward(ctx, in); }, in_path, out_path, args, cmd);
}

}  // namespace

int run_transformer(const std::vector<std::string>& argv) {
  const std::string cmd = "run transformer";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--dump", "--device", "--dtype"}, cmd);
  std::string model_dir = args.get("--model", cmd);
  const std::string in_path = args.get("--inputs", cmd);
  const std::string out_path = args.get("--output", cmd);
  Context ctx = args.context(cmd);
  if (transformer_class(&model_dir) == "SanaVideo2Transformer")
    return run_sana_video2(ctx, model_dir, io::TensorSource::open(in_path), in_path, out_path, args, cmd);

  auto model = sana_dit::SanaVideoTransformer::load(model_dir, &ctx);
  const io::TensorSource inputs = io::TensorSource::open(in_path);
  auto input = [&](const char* name, bool required) -> Tensor {
    if (!inputs.has(name)) {
      SV_CHECK(!required, in_path, ": missing input tensor '", name, "'");
      return Tensor();
    }
    return inputs.get(name);
  };
  sana_dit::Inputs in;
  in.hidden_states = input("hidden_states", true);
  in.encoder_hidden_states = input("encoder_hidden_states", true);
  in.timestep = input("timestep", true);
  in.encoder_attention_mask = input("encoder_attention_mask", false);
  in.guidance = input("guidance", false);
  for (const std::string& n : inputs.names())
    SV_CHECK(n == "hidden_states" || n == "encoder_hidden_states" || n == "timestep" || n == "encoder_attention_mask" ||
                 n == "guidance",
             in_path, ": unexpected input tensor '", n, "'");
  const sana_dit::Config& c = model->config();
  SV_CHECK(in.hidden_states.dim() == 5, in_path, ": 'hidden_states' must be [B, C, F, H, W], got ",
           shape_str(in.hidden_states.shape()));
  SV_CHECK(in.hidden_states.size(1) == c.in_channels, in_path, ": 'hidden_states' has ", in.hidden_states.size(1),
           " channels but the model's in_channels is ", c.in_channels);
  SV_CHECK(in.encoder_hidden_states.dim() == 3 && in.encoder_hidden_states.size(2) == c.caption_channels, in_path,
           ": 'encoder_hidden_states' must be [B, L, ", c.caption_channels, "], got ",
           shape_str(in.encoder_hidden_states.shape()));
  for (const Tensor* t : {&in.hidden_states, &in.encoder_hidden_states})
    SV_CHECK(dtype_is_float(t->dtype()), in_path, ": inputs must be floating point");

  return forward_and_write(ctx, [&] { return model->forward(ctx, in); }, in_path, out_path, args, cmd);
}

}  // namespace sv::cli
