// `sana-video run text-encoder` (tokenizer + Gemma2 + encode_prompt) and `sana-video run gemma2`.
#include <filesystem>

#include "args.h"
#include "core/context.h"
#include "io/safetensors.h"
#include "models/gemma2/gemma2.h"
#include "pipeline/prompt.h"
#include "text/tokenizer.h"

namespace sv::cli {
namespace fs = std::filesystem;

int run_text_encoder(const std::vector<std::string>& argv) {
  const std::string cmd = "run text-encoder";
  Args args(argv, {"--model", "--prompt", "--negative", "--output", "--threads", "--chi", "--max-sequence-length", "--device", "--dtype"}, cmd);
  const std::string dir = args.get("--model", cmd), out = args.get("--output", cmd);
  const std::vector<std::string> prompts = args.get_all("--prompt");
  SV_CHECK(!prompts.empty(), cmd, ": missing required option --prompt");
  const std::string chi_name = args.has("--chi") ? args.get("--chi", cmd) : "diffusers";
  SV_CHECK(chi_name == "diffusers" || chi_name == "official" || chi_name == "none", cmd,
           ": --chi must be diffusers, official or none, got '", chi_name, "'");
  const int max_len = args.get_int("--max-sequence-length", 300, cmd);
  SV_CHECK(max_len >= 2 && max_len <= 8192, cmd, ": --max-sequence-length must be in [2, 8192]");
  const std::vector<std::string> none;
  const std::vector<std::string>& chi =
      chi_name == "diffusers" ? pipeline::diffusers_chi() : chi_name == "official" ? pipeline::official_chi() : none;
  Context ctx = args.context(cmd);
  auto tok = text::Tokenizer::load((fs::path(dir) / "tokenizer").string());
  auto enc = gemma2::Gemma2Model::load((fs::path(dir) / "text_encoder").string(), &ctx);
  pipeline::PromptEncoder pe(*tok, *enc);
  const pipeline::PromptEmbeds pos = pe.encode(ctx, prompts, chi, max_len);
  std::vector<std::pair<std::string, Tensor>> t = {{"prompt_embeds", pos.embeds}, {"prompt_attention_mask", pos.mask}};
  if (args.has("--negative")) {
    std::vector<std::string> negs = args.get_all("--negative");
    if (negs.size() == 1) negs.assign(prompts.size(), negs[0]);
    SV_CHECK(negs.size() == prompts.size(), cmd, ": give one --negative, or one per --prompt");
    const pipeline::PromptEmbeds neg = pe.encode_negative(ctx, negs, max_len);
    t.emplace_back("negative_prompt_embeds", neg.embeds);
    t.emplace_back("negative_prompt_attention_mask", neg.mask);
  }
  io::write_safetensors(out, t);
  return 0;
}

int run_gemma2(const std::vector<std::string>& argv) {
  const std::string cmd = "run gemma2";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--device", "--dtype"}, cmd);
  const std::string in_path = args.get("--inputs", cmd), out = args.get("--output", cmd);
  Context ctx = args.context(cmd);
  auto enc = gemma2::Gemma2Model::load(args.get("--model", cmd), &ctx);
  const io::TensorSource in = io::TensorSource::open(in_path);
  SV_CHECK(in.has("input_ids"), in_path, ": missing input tensor 'input_ids'");
  const Tensor ids = in.get("input_ids");
  SV_CHECK(ids.dim() == 2 && !dtype_is_float(ids.dtype()), in_path, ": 'input_ids' must be an integer [B, L] tensor, got ",
           dtype_name(ids.dtype()), " ", shape_str(ids.shape()));
  Tensor mask;
  if (in.has("attention_mask")) mask = in.get("attention_mask");
  Tensor h;
  try {
    h = enc->forward(ctx, ids, mask);
  } catch (const Error& e) {
    SV_THROW(in_path, ": ", e.what());
  }
  io::write_safetensors(out, {{"last_hidden_state", h}});
  return 0;
}

}  // namespace sv::cli
