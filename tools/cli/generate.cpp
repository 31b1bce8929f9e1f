// `sana-video generate`: prompt in, video file out. Built on the public C API (include/sv/sv.h); only the
// prompt-schedule parser is shared with the library.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pipeline/long_video.h"
#include "sv/sv.h"

namespace sv::cli {
namespace {

volatile sig_atomic_t g_interrupted = 0;  // set by SIGINT; polled through the cancel callback
void on_sigint(int) { g_interrupted = 1; }

int cancel_cb(void*) { return g_interrupted ? 1 : 0; }

void progress_cb(const char* stage, int step, int total, double elapsed, double eta, void*) {
  if (total == 0)  // a message, not a counted stage
    std::fprintf(stderr, "[info   ] %s\n", stage);
  else if (eta >= 0)
    std::fprintf(stderr, "[%-7s] %3d/%-3d  %7.2fs elapsed  ETA %7.2fs\n", stage, step, total, elapsed, eta);
  else
    std::fprintf(stderr, "[%-7s] %3d/%-3d  %7.2fs elapsed\n", stage, step, total, elapsed);
}

const char* kHelp =
    "usage: sana-video generate [-m DIR] -p PROMPT [-n NEGATIVE] [--image FIRST.png] [-W 832 -H 480 --frames 81 --fps 16]\n"
    "       [--steps 50 --cfg 6 --seed 0 --sampler dpm++2m|euler|unipc --shift S --motion-score N]\n"
    "       [--chi diffusers|official|none] [--latents IN.safetensors] [--output-latents OUT.safetensors]\n"
    "       [--prompt-embeds EMB.safetensors (instead of -p; as written by run text-encoder)] [--resolution-binning]\n"
    "       [--vae-tiling (diffusers' enable_tiling; LTX-2 VAE) [--vae-tile 512 --vae-tile-stride 448]]\n"
    "       [--threads N] [--device cpu|cuda|cuda:N] [--dtype fp32|bf16] -o OUT.mp4|.mkv|.mov|.webp|.gif|DIR/\n"
    "  long video (LongSANA, a LongLive checkpoint): --long --seconds S (or --frames N) [--block-frames 10]\n"
    "       [--window-blocks K (attend to the last K blocks; default all)] [--exact-timesteps]\n"
    "       [--prompt-at SECONDS:PROMPT ...] [--prompt-schedule FILE (lines 'SECONDS PROMPT')]\n"
    "  Without -m: $SANA_VIDEO_MODEL, else the embedded model (models/sana-video-toy) when present.\n"
    "  Unset sizes, steps, cfg and fps come from the model (generation_defaults.json) or diffusers' defaults.\n"
    "  SANA-Video 2.0 (a folder from `sana-video convert` with vae/, text_encoder/, tokenizer/ beside it):\n"
    "       --sampler dpm (the release's solver, default; --image uses its Euler) | dmd (4-step preview: --steps 4\n"
    "       --cfg 1); unset --chi, --shift and --motion-score take the release's (its CHI, 12, 20)\n";

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
  std::string device, dtype;
  std::string negative;
  bool has_negative = false;
  std::string model, prompt, output, out_latents, in_latents, sampler, chi;
  bool have_prompt = false;
  std::vector<std::pair<double, std::string>> schedule;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--resolution-binning" || a == "--long" || a == "--exact-timesteps" || a == "--vae-tiling") {
      (a == "--long"              ? gp.long_video
       : a == "--exact-timesteps" ? gp.exact_timesteps
       : a == "--vae-tiling"      ? gp.vae_tiling
                                  : gp.resolution_binning) = 1;
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
    else if (a == "-n" || a == "--negative") negative = v, has_negative = true;
    else if (a == "-o" || a == "--output") output = v;
    else if (a == "--output-latents") out_latents = v;
    else if (a == "--latents") in_latents = v;
    else if (a == "--prompt-embeds") prompt_embeds = v, have_prompt = true;
    else if (a == "--sampler") sampler = v;
    else if (a == "--chi") chi = v;
    else if (a == "-W" || a == "--width") { if (!parse_int(v, &n) || n <= 0 || n > 100000) return bad("a positive integer"); gp.width = static_cast<int>(n); }
    else if (a == "-H" || a == "--height") { if (!parse_int(v, &n) || n <= 0 || n > 100000) return bad("a positive integer"); gp.height = static_cast<int>(n); }
    else if (a == "--frames") { if (!parse_int(v, &n) || n <= 0 || n > 100000) return bad("a positive integer"); gp.frames = static_cast<int>(n); }
    else if (a == "--fps") { if (!parse_int(v, &n) || n <= 0 || n > 100000) return bad("a positive integer"); gp.fps = static_cast<int>(n); }
    else if (a == "--steps") {
      if (!parse_int(v, &n)) return bad("an integer");
      if (n < 1 || n > 1000) {
        std::fprintf(stderr, "sana-video: error: generate: steps must be in [1, 1000], got %s\n", v);
        return 2;
      }
      gp.steps = static_cast<int>(n);
    }
    else if (a == "--seed") { if (!parse_int(v, &n) || n < 0) return bad("a non-negative integer"); gp.seed = static_cast<uint64_t>(n); }
    else if (a == "--vae-tile" || a == "--vae-tile-stride") {
      if (!parse_int(v, &n) || n <= 0 || n > 100000) return bad("a positive number of pixels");
      (a == "--vae-tile" ? gp.vae_tile : gp.vae_tile_stride) = static_cast<int>(n);
      gp.vae_tiling = 1;
    }
    else if (a == "--motion-score") { if (!parse_int(v, &n)) return bad("an integer"); gp.motion_score = static_cast<int>(n); }
    else if (a == "--threads") { if (!parse_int(v, &n)) return bad("an integer"); mp.threads = static_cast<int>(n); }
    else if (a == "--device") device = v;
    else if (a == "--dtype") dtype = v;
    else if (a == "--cfg") {
      if (!parse_float(v, &f)) return bad("a number");
      if (f < 0) {
        std::fprintf(stderr, "sana-video: error: generate: guidance scale must not be negative, got %s\n", v);
        return 2;
      }
      gp.guidance_scale = static_cast<float>(f);
    }
    else if (a == "--shift") { if (!parse_float(v, &f)) return bad("a number"); gp.shift = static_cast<float>(f); }
    else if (a == "--image") image = v;
    else if (a == "--seconds") { if (!parse_float(v, &f) || !(f > 0)) return bad("a positive number"); gp.seconds = f; }
    else if (a == "--block-frames") { if (!parse_int(v, &n) || n <= 0) return bad("a positive integer"); gp.block_frames = static_cast<int>(n); }
    else if (a == "--window-blocks") { if (!parse_int(v, &n) || n < 0) return bad("a non-negative integer"); gp.window_blocks = static_cast<int>(n); }
    else if (a == "--prompt-at" || a == "--prompt-schedule") {
      try {
        const auto segs = a == "--prompt-at" ? std::vector<pipeline::PromptSegment>{pipeline::parse_prompt_at(v)}
                                             : pipeline::read_prompt_schedule(v);
        for (const auto& sgm : segs) schedule.push_back({sgm.start_seconds, sgm.prompt});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sana-video: error: generate: %s\n", e.what());
        return 2;
      }
      have_prompt = true;
    }
    else {
      std::fprintf(stderr, "sana-video: error: generate: unknown option '%s' (see generate --help)\n", a.c_str());
      return 2;
    }
  }
  if (!have_prompt || output.empty()) {
    std::fprintf(stderr, "sana-video: error: generate: -p PROMPT (or --prompt-embeds / --prompt-at) and -o OUTPUT are required\n");
    return 2;
  }
  if (!gp.long_video && (gp.seconds > 0 || !schedule.empty() || gp.block_frames || gp.window_blocks || gp.exact_timesteps)) {
    std::fprintf(stderr, "sana-video: error: generate: --seconds, --prompt-at/--prompt-schedule, --block-frames, "
                         "--window-blocks and --exact-timesteps need --long\n");
    return 2;
  }
  if (model.empty()) {
    const char* def = sv_default_model_dir();
    if (!def) {
      std::fprintf(stderr, "sana-video: error: generate: no -m MODEL_DIR given and no embedded model found "
                           "(set SANA_VIDEO_MODEL or pass -m)\n");
      return 2;
    }
    model = def;
  }
  if (!prompt.empty() && !schedule.empty()) schedule.insert(schedule.begin(), {0.0, prompt});
  std::vector<sv_prompt_segment> segs;
  for (const auto& [t, text] : schedule) segs.push_back({t, text.c_str()});
  gp.prompt_schedule = segs.empty() ? nullptr : segs.data();
  gp.prompt_schedule_count = static_cast<int>(segs.size());
  gp.prompt = prompt.c_str();
  gp.negative_prompt = has_negative ? negative.c_str() : nullptr;
  gp.image_path = image.empty() ? nullptr : image.c_str();
  gp.output_path = output.c_str();
  gp.output_latents_path = out_latents.empty() ? nullptr : out_latents.c_str();
  gp.initial_latents_path = in_latents.empty() ? nullptr : in_latents.c_str();
  gp.prompt_embeds_path = prompt_embeds.empty() ? nullptr : prompt_embeds.c_str();
  gp.sampler = sampler.empty() ? nullptr : sampler.c_str();
  gp.chi = chi.empty() ? nullptr : chi.c_str();
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
  mp.device = device.c_str();
  mp.dtype = dtype.c_str();
  sv_status st = sv_model_load(model.c_str(), &mp, &m, err, sizeof err);
  if (st != SV_OK) {
    std::fprintf(stderr, "sana-video: error: %s\n", err);
    return 1;
  }
  std::fprintf(stderr, "[device ] %s\n", sv_model_device(m));
  st = sv_generate(m, &gp);
  if (st != SV_OK) {
    std::fprintf(stderr, "sana-video: error: %s\n", st == SV_ERROR_CANCELLED ? "interrupted; no output written" : sv_model_last_error(m));
    sv_model_free(m);
    return st == SV_ERROR_CANCELLED ? 130 : 1;
  }
  std::fprintf(stderr, "done: %s  (%d frames of %dx%d; encode %.2fs, denoise %.2fs, decode+write %.2fs)\n",
               output.c_str(), gp.frames_written, gp.width_used, gp.height_used, gp.seconds_encode, gp.seconds_denoise,
               gp.seconds_decode);
  sv_model_free(m);
  return 0;
}

}  // namespace sv::cli
