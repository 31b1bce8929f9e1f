// `sana-video run transformer-blocks`: the LongSANA cached causal mode from outside, block by block,
// as the official forward_long is used: each block's prediction pass on `hidden_states` reads the
// state written by the clean `context_latents` of every earlier block (at timestep 0).
#include "args.h"
#include "core/context.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"
#include "ops/ops.h"

namespace sv::cli {

int run_transformer_blocks(const std::vector<std::string>& argv) {
  const std::string cmd = "run transformer-blocks";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--window-blocks", "--device", "--dtype"}, cmd);
  const std::string model_dir = args.get("--model", cmd), in_path = args.get("--inputs", cmd);
  const std::string out_path = args.get("--output", cmd);
  const int64_t window = args.get_int("--window-blocks", 0, cmd);
  SV_CHECK(window >= 0, cmd, ": --window-blocks must be >= 0 (0 = all earlier blocks)");
  Context ctx = args.context(cmd);

  auto model = sana_dit::SanaVideoTransformer::load(model_dir, &ctx);
  const io::TensorSource inputs = io::TensorSource::open(in_path);
  const std::vector<std::string> known{"hidden_states", "context_latents", "timestep", "encoder_hidden_states",
                                       "encoder_attention_mask", "block_starts"};
  for (const std::string& n : inputs.names())
    SV_CHECK(std::find(known.begin(), known.end(), n) != known.end(), in_path, ": unexpected input tensor '", n, "'");
  auto input = [&](const char* name, bool required) -> Tensor {
    if (!inputs.has(name)) {
      SV_CHECK(!required, in_path, ": missing input tensor '", name, "'");
      return Tensor();
    }
    return inputs.get(name);
  };
  const Tensor hs = input("hidden_states", true), clean = input("context_latents", true);
  const Tensor t = input("timestep", true), text = input("encoder_hidden_states", true);
  const Tensor mask = input("encoder_attention_mask", false), bs = input("block_starts", true);
  SV_CHECK(hs.dim() == 5 && dtype_is_float(hs.dtype()), in_path, ": 'hidden_states' must be floating [B, C, F, H, W], got ",
           shape_str(hs.shape()));
  SV_CHECK(clean.shape() == hs.shape() && dtype_is_float(clean.dtype()), in_path,
           ": 'context_latents' must have the shape of hidden_states ", shape_str(hs.shape()), ", got ",
           shape_str(clean.shape()));
  SV_CHECK(t.numel() == hs.size(0) && dtype_is_float(t.dtype()), in_path, ": 'timestep' must hold B = ", hs.size(0),
           " floating values");
  SV_CHECK(bs.dim() == 1 && bs.numel() > 0 && (bs.dtype() == DType::I64 || bs.dtype() == DType::I32), in_path,
           ": 'block_starts' must be a non-empty int64 [K]");
  const std::vector<float> starts_f = bs.to_vector();
  const int64_t F = hs.size(2);
  std::vector<int64_t> starts;
  for (size_t i = 0; i < starts_f.size(); ++i) {
    const int64_t s = static_cast<int64_t>(starts_f[i]);
    SV_CHECK(i == 0 ? s == 0 : (s > starts.back() && s < F), in_path, ": block_starts must begin at 0 and ascend below ",
             F, " frames; got ", s, " at index ", i);
    starts.push_back(s);
  }

  const int64_t B = hs.size(0);
  auto block = [&](const Tensor& x, int64_t s, int64_t e) { return x.narrow(2, s, e - s).to(DType::F32); };
  sana_dit::Inputs in;
  in.encoder_hidden_states = text;
  in.encoder_attention_mask = mask;
  sana_dit::CausalState state(window);
  std::vector<Tensor> outs;
  try {
    for (size_t c = 0; c < starts.size(); ++c) {
      const int64_t s = starts[c], e = c + 1 < starts.size() ? starts[c + 1] : F;
      in.hidden_states = block(hs, s, e);
      in.timestep = t;
      outs.push_back(model->forward_block(ctx, in, s, state));
      if (c + 1 < starts.size()) {  // the last block's contribution is never read
        in.hidden_states = block(clean, s, e);
        in.timestep = Tensor::zeros({B});
        state.push(ctx, model->context_block(ctx, in, s, state));
      }
    }
  } catch (const Error& e) {
    SV_THROW(in_path, ": ", e.what());
  }
  io::write_safetensors(out_path, {{"sample", ops::cat(ctx, outs, 2)}});
  return 0;
}

}  // namespace sv::cli
