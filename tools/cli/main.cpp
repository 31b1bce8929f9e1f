// sana-video command-line entry. Every failure is one line on stderr and a non-zero exit.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "core/error.h"

namespace sv::cli {
int run_transformer(const std::vector<std::string>& args);
int run_transformer_blocks(const std::vector<std::string>& args);
int compare(const std::vector<std::string>& args);
int run_text_encoder(const std::vector<std::string>& args);
int run_gemma2(const std::vector<std::string>& args);
int run_vae_decode(const std::vector<std::string>& args);
int run_vae_encode(const std::vector<std::string>& args);
int generate(const std::vector<std::string>& args);
int convert(const std::vector<std::string>& args);
}
namespace sv::server {
int run_serve(const std::vector<std::string>& args);
}

namespace {
const char* kUsage =
    "usage: sana-video <command> [options]\n"
    "commands:\n"
    "  generate [-m PIPELINE_DIR] -p PROMPT [-n NEG] [-W 832 -H 480 --frames 81 --fps 16] [--steps 50 --cfg 6\n"
    "      --seed 0 --sampler dpm++2m|euler|unipc --shift S --motion-score N] -o OUT.mp4|.webp|.gif|DIR/\n"
    "      text-to-video with a diffusers SanaVideoPipeline folder or a converted SANA-Video 2.0 release\n"
    "      (default: the embedded toy model);\n"
    "      --long --seconds S [--prompt-at T:PROMPT ...]: LongSANA block-wise long video (see generate --help)\n"
    "  serve [-m PIPELINE_DIR] [--host 127.0.0.1 --port 8080] [--max-queue 16] [--api-key KEY] [--long] ...\n"
    "      OpenAI-style video generation server (POST /v1/videos ...) with a job queue and a web page at /\n"
    "      (see serve --help)\n"
    "  run transformer --model DIR --inputs IN.safetensors --output OUT.safetensors [--threads N] [--dump DUMP.safetensors]\n"
    "      run SanaVideoTransformer3DModel once; IN holds hidden_states, encoder_hidden_states, timestep\n"
    "      [, encoder_attention_mask, guidance]; OUT holds sample (float32)\n"
    "  run transformer-blocks --model DIR --inputs IN.safetensors --output OUT.safetensors [--window-blocks K]\n"
    "      LongSANA cached causal mode: IN holds hidden_states and context_latents [B, C, F, H, W], timestep [B],\n"
    "      encoder_hidden_states [, encoder_attention_mask], block_starts [K] (int64, from 0); OUT holds sample:\n"
    "      each block's output on hidden_states given the state written by earlier blocks' context_latents\n"
    "  run text-encoder --model PIPELINE_DIR --prompt TEXT [--negative TEXT] --output OUT.safetensors\n"
    "      [--chi diffusers|official|none] [--max-sequence-length 300]: SanaVideoPipeline.encode_prompt\n"
    "      (tokenizer/ + text_encoder/); OUT holds prompt_embeds, prompt_attention_mask [, negative_*]\n"
    "  run gemma2 --model DIR --inputs IN.safetensors --output OUT.safetensors\n"
    "      Gemma2Model on input_ids [, attention_mask]; OUT holds last_hidden_state\n"
    "  run vae-decode --model VAE_DIR --inputs IN.safetensors [--output OUT.safetensors] [--video FILE [--fps 16]]\n"
    "      [--vae-tiling 1 | --vae-tile PX --vae-tile-stride PX]   (AutoencoderKLWan or AutoencoderKLLTX2Video)\n"
    "      vae.decode(latents [B, z, T, h, w]); OUT holds sample [B, 3, F, H, W] float32 (unclamped for LTX-2);\n"
    "      FILE: .mp4/.mkv/.mov (H.264), .webp, .gif, or DIR/ for PNG frames, written while decoding\n"
    "  run vae-encode --model VAE_DIR --inputs IN.safetensors --output OUT.safetensors [--vae-tiling ...]\n"
    "      video [B, 3, F, H, W] in [-1, 1] -> latent_mean (posterior mean)\n"
    "  convert IN.pth --config config.yaml -o DIR [--key state_dict|state_dict_ema]\n"
    "      a SANA-Video 2.0 release (.pth + its config.yaml) into a model folder (transformer/ safetensors +\n"
    "      config.json); without --config: -o OUT.safetensors, the state dict with its names and dtypes.\n"
    "      The pickle is never run: anything but tensors, dicts and plain values is refused\n"
    "  compare A.safetensors B.safetensors [--tensor NAME] [--tol 1e-4]\n"
    "      max |A - B| <= tol * max |B| per tensor; exit 0 when all pass\n";
}

int main(int argc, char** argv) {
  // Over a file-size limit, writes fail (EFBIG) and the writer reports it and removes its temporary
  // file, instead of the process being killed with a partial file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
      std::fputs(kUsage, args.empty() ? stderr : stdout);
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "generate") return sv::cli::generate({args.begin() + 1, args.end()});
    if (args[0] == "serve") return sv::server::run_serve({args.begin() + 1, args.end()});
    if (args[0] == "compare") return sv::cli::compare({args.begin() + 1, args.end()});
    if (args[0] == "convert") return sv::cli::convert({args.begin() + 1, args.end()});
    if (args[0] == "run") {
      SV_CHECK(args.size() >= 2, "run: name a component (transformer)");
      const std::vector<std::string> rest(args.begin() + 2, args.end());
      if (args[1] == "transformer") return sv::cli::run_transformer(rest);
      if (args[1] == "transformer-blocks") return sv::cli::run_transformer_blocks(rest);
      if (args[1] == "text-encoder") return sv::cli::run_text_encoder(rest);
      if (args[1] == "gemma2") return sv::cli::run_gemma2(rest);
      if (args[1] == "vae-decode") return sv::cli::run_vae_decode(rest);
      if (args[1] == "vae-encode") return sv::cli::run_vae_encode(rest);
      SV_THROW("run: unknown component '", args[1], "' (known: transformer, transformer-blocks, text-encoder, gemma2, vae-decode, vae-encode)");
    }
    SV_THROW("unknown command '", args[0], "' (see sana-video --help)");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "sana-video: error: %s\n", msg.c_str());
    return 1;
  }
}
