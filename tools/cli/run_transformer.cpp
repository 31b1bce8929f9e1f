// `sana-video run transformer`: one forward of the DiT on tensors from a safetensors file.
#include <cstdio>
#include <map>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"
#include "args.h"

namespace sv::cli {

int run_transformer(const std::vector<std::string>& argv) {
  const std::string cmd = "run transformer";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--dump", "--device", "--dtype"}, cmd);
  const std::string model_dir = args.get("--model", cmd), in_path = args.get("--inputs", cmd);
  const std::string out_path = args.get("--output", cmd);
  Context ctx = args.context(cmd);

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

  std::vector<std::pair<std::string, Tensor>> dumps;
  if (args.has("--dump")) ctx.set_dump([&](const std::string& n, const Tensor& t) { dumps.emplace_back(n, t.clone()); });
  Tensor sample;
  try {
    sample = model->forward(ctx, in);
  } catch (const Error& e) {
    SV_THROW(in_path, ": ", e.what());
  }
  if (args.has("--dump")) io::write_safetensors(args.get("--dump", cmd), dumps);
  io::write_safetensors(out_path, {{"sample", sample}});
  return 0;
}

}  // namespace sv::cli
