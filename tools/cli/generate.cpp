// `sana-video generate`: prompt in, video file out. Built only on the public C API (include/sv/sv.h).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sv/sv.h"

namespace sv::cli {
namespace {

volatile sig_atomic_t g_interrupted = 0;  // set by SIGINT; polled through the cancel callback
void on_sigint(int) { g_interrupted = 1; }

int cancel_cb(void*) { return g_interrupted ? 1 : 0; }

void progress_cb(const char* stage, int step, int total, double elapsed, double eta, void*) {
  if (eta >= 0)
    std::fprintf(stderr, "[%-7s] %3d/%-3d  %7.2fs elapsed  ETA %7.2fs\n", stage, step, total, elapsed, eta);
  else
    std::fprintf(stderr, "[%-7s] %3d/%-3d  %7.2fs elapsed\n", stage, step, total, elapsed);
}

const char* kHelp =
    "usage: sana-video generate -m DIR -p PROMPT [-n NEGATIVE] [--image FIRST.png] [-W 832 -H 480 --frames 81 --fps 16]\n"
    "       [--steps 50 --cfg 6 --seed 0 --sampler dpm++2m|euler|unipc --shift S --motion-score N]\n"
    "       [--chi diffusers|official|none] [--latents IN.safetensors] [--output-latents OUT.safetensors]\n"
    "       [--prompt-embeds EMB.safetensors (instead of -p; as written by run text-encoder)] [--resolution-binning]\n"
    "       [--threads N] -o OUT.mp4|.mkv|.mov|.webp|.gif|DIR/\n";

bool parse_int(const char* s, long long* out) {
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (!*s || *end) return false;
  *out = v;
  return true;
}
bool parse_float(const char* s, double* out) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (!*s || *end) return false;
  *out = v;
  return true;
}

}  // namespace

int generate(const std::vector<std::string>& args) {
  sv_generate_params gp = sv_generate_default_params();
  sv_model_params mp = sv_model_default_params();
  std::string image, prompt_embeds;
  std::string model, prompt, negative = "", output, out_latents, in_latents, sampler, chi = "diffusers";
  bool have_prompt = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--resolution-binning") {
      gp.resolution_binning = 1;
      continue;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "sana-video: error: generate: option %s needs a value\n", a.c_str());
      return 2;
    }
    const char* v = args[++i].c_str();
    long long n = 0;
    double f = 0;
    auto bad = [&](const char* what) {
      std::fprintf(stderr, "sana-video: error: generate: %s expects %s, got '%s'\n", a.c_str(), what, v);
      return 2;
    };
    if (a == "-m" || a == "--model") model = v;
    else if (a == "-p" || a == "--prompt") prompt = v, have_prompt = true;
    else if (a == "-n" || a == "--negative") negative = v;
    else if (a == "-o" || a == "--output") output = v;
    else if (a == "--output-latents") out_latents = v;
    else if (a == "--latents") in_latents = v;
    else if (a == "--prompt-embeds") prompt_embeds = v, have_prompt = true;
    else if (a == "--sampler") sampler = v;
    else if (a == "--chi") chi = v;
    else if (a == "-W" || a == "--width") { if (!parse_int(v, &n)) return bad("an integer"); gp.width = static_cast<int>(n); }
    else if (a == "-H" || a == "--height") { if (!parse_int(v, &n)) return bad("an integer"); gp.height = static_cast<int>(n); }
    else if (a == "--frames") { if (!parse_int(v, &n)) return bad("an integer"); gp.frames = static_cast<int>(n); }
    else if (a == "--fps") { if (!parse_int(v, &n)) return bad("an integer"); gp.fps = static_cast<int>(n); }
    else if (a == "--steps") { if (!parse_int(v, &n)) return bad("an integer"); gp.steps = static_cast<int>(n); }
    else if (a == "--seed") { if (!parse_int(v, &n) || n < 0) return bad("a non-negative integer"); gp.seed = static_cast<uint64_t>(n); }
    else if (a == "--motion-score") { if (!parse_int(v, &n)) return bad("an integer"); gp.motion_score = static_cast<int>(n); }
    else if (a == "--threads") { if (!parse_int(v, &n)) return bad("an integer"); mp.threads = static_cast<int>(n); }
    else if (a == "--cfg") { if (!parse_float(v, &f)) return bad("a number"); gp.guidance_scale = static_cast<float>(f); }
    else if (a == "--shift") { if (!parse_float(v, &f)) return bad("a number"); gp.shift = static_cast<float>(f); }
    else if (a == "--image") image = v;
    else {
      std::fprintf(stderr, "sana-video: error: generate: unknown option '%s' (see generate --help)\n", a.c_str());
      return 2;
    }
  }
  if (model.empty() || !have_prompt || output.empty()) {
    std::fprintf(stderr, "sana-video: error: generate: -m MODEL_DIR, -p PROMPT (or --prompt-embeds) and -o OUTPUT are required\n");
    return 2;
  }
  gp.prompt = prompt.c_str();
  gp.negative_prompt = negative.c_str();
  gp.image_path = image.empty() ? nullptr : image.c_str();
  gp.output_path = output.c_str();
  gp.output_latents_path = out_latents.empty() ? nullptr : out_latents.c_str();
  gp.initial_latents_path = in_latents.empty() ? nullptr : in_latents.c_str();
  gp.prompt_embeds_path = prompt_embeds.empty() ? nullptr : prompt_embeds.c_str();
  gp.sampler = sampler.empty() ? nullptr : sampler.c_str();
  gp.chi = chi.c_str();
  gp.progress = progress_cb;
  gp.cancel = cancel_cb;

  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  char err[1024];
  sv_model* m = nullptr;
  std::fprintf(stderr, "[load   ] %s\n", model.c_str());
  sv_status st = sv_model_load(model.c_str(), &mp, &m, err, sizeof err);
  if (st != SV_OK) {
    std::fprintf(stderr, "sana-video: error: %s\n", err);
    return 1;
  }
  st = sv_generate(m, &gp);
  if (st != SV_OK) {
    std::fprintf(stderr, "sana-video: error: %s\n", st == SV_ERROR_CANCELLED ? "interrupted; no output written" : sv_model_last_error(m));
    sv_model_free(m);
    return st == SV_ERROR_CANCELLED ? 130 : 1;
  }
  std::fprintf(stderr, "done: %s  (encode %.2fs, denoise %.2fs, decode+write %.2fs)\n", output.c_str(), gp.seconds_encode,
               gp.seconds_denoise, gp.seconds_decode);
  sv_model_free(m);
  return 0;
}

}  // namespace sv::cli
