// C shim over the C++ engine: catches everything, maps errors to sv_status + a message per handle.
#include "sv/sv.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "core/context.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "io/async_writer.h"
#include "io/video_writer.h"
#include "io/json_config.h"
#include "pipeline/long_video.h"
#include "pipeline/sana_video_pipeline.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

// A model folder's optional generation_defaults.json: what 0 in sv_generate_params means for it.
struct ModelDefaults {
  int width = 832, height = 480, frames = 81, fps = 16, steps = 50;
  double guidance_scale = 6.0;
};

struct sv_video_writer {
  std::unique_ptr<sv::io::VideoWriter> writer;
  int width = 0, height = 0;
  std::string last_error;
};

struct sv_model {
  std::unique_ptr<sv::pipeline::VideoPipeline> pipe;
  std::unique_ptr<sv::Context> ctx;
  ModelDefaults defaults;
  std::string device_desc;
  std::mutex run_mu;  // one generation at a time: a second thread waits for the first
  // The last error of each calling thread (map nodes are stable, so the returned pointers stay valid
  // until that thread's next call).
  mutable std::mutex err_mu;
  std::map<std::thread::id, std::string> errors;

  std::string& last_error() {
    std::lock_guard<std::mutex> lock(err_mu);
    return errors[std::this_thread::get_id()];
  }
};

namespace {

struct Cancelled {};

void copy_error(const std::string& msg, char* buf, size_t n) {
  if (!buf || n == 0) return;
  std::strncpy(buf, msg.c_str(), n - 1);
  buf[n - 1] = '\0';
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

ModelDefaults read_defaults(const std::string& dir) {
  ModelDefaults d;
  const std::filesystem::path p = std::filesystem::path(dir) / "generation_defaults.json";
  if (!std::filesystem::exists(p)) return d;
  const sv::io::JsonConfig c = sv::io::JsonConfig::load(p.string());
  auto positive = [&](const char* key, int def) {
    const int64_t v = c.get_int(key, def);
    SV_CHECK(v > 0 && v <= 100000, c.origin(), ": ", key, " must be a positive integer, got ", v);
    return static_cast<int>(v);
  };
  d.width = positive("width", d.width);
  d.height = positive("height", d.height);
  d.frames = positive("frames", d.frames);
  d.fps = positive("fps", d.fps);
  d.steps = positive("steps", d.steps);
  d.guidance_scale = c.get_float("guidance_scale", d.guidance_scale);
  SV_CHECK(d.guidance_scale >= 0, c.origin(), ": guidance_scale must not be negative");
  return d;
}

// A borrowed sv_tensor_f32 copied into an engine tensor; sizes are checked before anything is allocated.
sv::Tensor tensor_from(const sv_tensor_f32& t, const char* name) {
  SV_CHECK(t.ndim >= 1 && t.ndim <= 8, name, ": ndim must be in [1, 8], got ", t.ndim);
  sv::Shape shape;
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) {
    SV_CHECK(t.shape[i] > 0 && t.shape[i] <= (int64_t(1) << 31), name, ": bad dimension ", t.shape[i]);
    n *= t.shape[i];
    SV_CHECK(n <= (int64_t(1) << 32), name, ": too large");
    shape.push_back(t.shape[i]);
  }
  return sv::Tensor::from_vector(std::vector<float>(t.data, t.data + n), shape);
}

struct Prepared {
  sv::pipeline::GenerateParams p;
  sv::pipeline::LongGenerateParams lp;
  int fps = 16;
};

// The text encoder reads a few hundred tokens; a prompt far longer only costs tokenizer time (about
// 15 us a byte), so anything past 64 KiB is refused before any work.
constexpr size_t kMaxPromptBytes = size_t(1) << 16;
void check_prompt(const char* what, const std::string& s) {
  SV_CHECK(s.size() <= kMaxPromptBytes, what, " is ", s.size(), " bytes; at most ", kMaxPromptBytes,
           " are accepted (the text encoder reads 300 tokens)");
}

// Pixel frames for the long mode: at least one, snapped up to 4k + 1.
int snap_frames(int frames, int ft) { return frames <= 1 ? 1 : (frames - 2) / ft * ft + ft + 1; }

// The C parameters as the pipeline's, with every argument check that needs no file (sv_generate_check).
Prepared prepare(const sv_model* m, const sv_generate_params* gp) {
  namespace pl = sv::pipeline;
  Prepared out;
  pl::GenerateParams& p = out.p;
  pl::LongGenerateParams& lp = out.lp;
  p.prompt = gp->prompt ? gp->prompt : "";
  p.negative_prompt = gp->negative_prompt ? gp->negative_prompt : m->pipe->default_negative_prompt();
  check_prompt("prompt", p.prompt);
  check_prompt("negative_prompt", p.negative_prompt);
  if (gp->image_path && *gp->image_path) p.image_path = gp->image_path;
  if (gp->image_rgb) {
    SV_CHECK(p.image_path.empty(), "give image_path or image_rgb, not both");
    SV_CHECK(gp->image_width > 0 && gp->image_height > 0 && gp->image_width <= 16384 && gp->image_height <= 16384,
             "image size must be in [1, 16384], got ", gp->image_width, "x", gp->image_height);
    p.image.width = gp->image_width;
    p.image.height = gp->image_height;
    p.image.rgb.assign(gp->image_rgb, gp->image_rgb + size_t(3) * gp->image_width * gp->image_height);
  }
  SV_CHECK(gp->width >= 0 && gp->height >= 0 && gp->frames >= 0 && gp->steps >= 0 && gp->fps >= 0,
           "width, height, frames, steps and fps must be positive (0 = the model's default)");
  const ModelDefaults& d = m->defaults;
  p.width = gp->width > 0 ? gp->width : d.width;
  p.height = gp->height > 0 ? gp->height : d.height;
  p.steps = gp->steps > 0 ? gp->steps : d.steps;
  p.guidance_scale = gp->guidance_scale >= 0 ? gp->guidance_scale : d.guidance_scale;
  const int fps = out.fps = gp->fps > 0 ? gp->fps : d.fps;
  if (gp->seconds > 0) {  // the duration at the requested (or the model's) frame rate
    SV_CHECK(gp->frames == 0, "give seconds or frames, not both");
    SV_CHECK(gp->seconds * fps <= 1e6, gp->seconds, " s at ", fps, " fps is too long");
    p.frames = static_cast<int>(gp->seconds * fps + 0.5);
  } else {
    p.frames = gp->frames > 0 ? gp->frames : d.frames;
  }
  SV_CHECK(p.frames <= 1000000, "frames must be at most 1000000, got ", p.frames);
  p.seed = gp->seed;
  p.sampler = gp->sampler ? gp->sampler : "";
  p.shift = gp->shift;
  p.motion_score = gp->motion_score;
  SV_CHECK(gp->resolution_binning >= -1 && gp->resolution_binning <= 1, "resolution_binning must be -1, 0 or 1");
  const int64_t sample_size = m->pipe->binning_sample_size();
  p.resolution_binning = gp->resolution_binning == 1 ||
                         (gp->resolution_binning == -1 && (sample_size == 30 || sample_size == 22));
  SV_CHECK(!(gp->vae_tiling && gp->long_video), "VAE tiling is not available in long video mode (its decode streams block by block)");
  SV_CHECK(gp->vae_tile >= 0 && gp->vae_tile_stride >= 0 && gp->vae_tile <= 1 << 20 && gp->vae_tile_stride <= 1 << 20,
           "vae_tile and vae_tile_stride must be in [0, 1048576] pixels");
  p.vae_tiling = sv::VaeTiling::square(gp->vae_tiling != 0, gp->vae_tile, gp->vae_tile_stride);
  const std::string chi = gp->chi ? gp->chi : "";
  SV_CHECK(chi.empty() || chi == "diffusers" || chi == "official" || chi == "none",
           "chi must be diffusers, official or none (or unset: the model's own)");
  p.chi = chi.empty()            ? pl::Chi::Default
          : chi == "diffusers"   ? pl::Chi::Diffusers
          : chi == "official"    ? pl::Chi::Official
                                 : pl::Chi::None;
  SV_CHECK(fps <= 240, "fps must be in [1, 240], got ", fps);
  // In-memory tensors first, so that validate() below checks their shapes too.
  SV_CHECK(!gp->initial_latents.data || !(gp->initial_latents_path && *gp->initial_latents_path),
           "give initial_latents_path or initial_latents, not both");
  SV_CHECK(!gp->prompt_embeds.data || !(gp->prompt_embeds_path && *gp->prompt_embeds_path),
           "give prompt_embeds_path or prompt_embeds, not both");
  SV_CHECK(!gp->negative_prompt_embeds.data || gp->prompt_embeds.data, "negative_prompt_embeds without prompt_embeds");
  if (gp->initial_latents.data) p.initial_latents = tensor_from(gp->initial_latents, "initial_latents");
  if (gp->prompt_embeds.data) {
    SV_CHECK(gp->prompt_attention_mask.data, "prompt_embeds needs prompt_attention_mask");
    p.prompt_embeds = tensor_from(gp->prompt_embeds, "prompt_embeds");
    p.prompt_mask = tensor_from(gp->prompt_attention_mask, "prompt_attention_mask");
    if (gp->negative_prompt_embeds.data) {
      SV_CHECK(gp->negative_prompt_attention_mask.data, "negative_prompt_embeds needs negative_prompt_attention_mask");
      p.negative_embeds = tensor_from(gp->negative_prompt_embeds, "negative_prompt_embeds");
      p.negative_mask = tensor_from(gp->negative_prompt_attention_mask, "negative_prompt_attention_mask");
    }
  }
  const pl::SanaVideoPipeline* long_pipe = m->pipe->sana_video();
  SV_CHECK(!gp->long_video || long_pipe, "long video mode (LongSANA) runs SANA-Video models only, not this one");
  if (gp->long_video) {
    lp.height = p.height, lp.width = p.width, lp.fps = fps, lp.seed = p.seed;
    lp.frames = snap_frames(p.frames, static_cast<int>(m->pipe->vae().info().temporal_factor));
    lp.block_frames = gp->block_frames > 0 ? gp->block_frames : 10;
    SV_CHECK(gp->block_frames >= 0 && gp->window_blocks >= 0, "block_frames and window_blocks must be >= 0");
    lp.window_blocks = gp->window_blocks;
    lp.schedule = pl::long_schedule_for(*long_pipe);
    lp.schedule.bf16_timesteps = gp->exact_timesteps == 0;
    lp.motion_score = p.motion_score, lp.chi = p.chi;
    SV_CHECK(gp->prompt_schedule_count >= 0 && (gp->prompt_schedule_count == 0 || gp->prompt_schedule),
             "prompt_schedule_count without a prompt_schedule");
    for (int i = 0; i < gp->prompt_schedule_count; ++i) {
      const sv_prompt_segment& sgm = gp->prompt_schedule[i];
      SV_CHECK(sgm.prompt && *sgm.prompt, "prompt schedule entry ", i, " has no prompt");
      check_prompt("a prompt schedule entry", sgm.prompt);
      lp.prompts.push_back({sgm.start_seconds, sgm.prompt});
    }
    if (lp.prompts.empty()) lp.prompts.push_back({0.0, p.prompt});
    SV_CHECK(!p.has_image() && !(gp->initial_latents_path && *gp->initial_latents_path) && !gp->initial_latents.data &&
                 !(gp->prompt_embeds_path && *gp->prompt_embeds_path) && !gp->prompt_embeds.data &&
                 !(gp->output_latents_path && *gp->output_latents_path),
             "long video mode takes prompts only (no image, latents or prompt embeddings)");
    pl::plan_long(*long_pipe, lp);  // every check before any work or file
    p.frames = static_cast<int>(lp.frames);
  } else {
    m->pipe->validate(p);
  }
  // Memory, before anything is allocated.
  const bool decode = (gp->output_path && *gp->output_path) || gp->on_frames;
  if (gp->long_video) pl::check_long_fits(*m->ctx, *long_pipe, lp, decode);
  else m->pipe->check_fits(*m->ctx, p, decode);
  return out;
}

}  // namespace

extern "C" {

sv_model_params sv_model_default_params(void) {
  sv_model_params p;
  p.threads = 0;
  p.device = nullptr;
  p.dtype = nullptr;
  return p;
}

sv_generate_params sv_generate_default_params(void) {
  sv_generate_params p;
  std::memset(&p, 0, sizeof p);
  p.negative_prompt = nullptr;  // the model's own ("" for SANA-Video folders)
  p.guidance_scale = -1.0f;  // the model's default
  p.motion_score = -1;
  p.chi = nullptr;  // the model's own
  return p;
}

const char* sv_status_name(sv_status s) {
  switch (s) {
    case SV_OK: return "ok";
    case SV_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case SV_ERROR_MODEL: return "model error";
    case SV_ERROR_IO: return "i/o error";
    case SV_ERROR_CANCELLED: return "cancelled";
    case SV_ERROR_INTERNAL: return "internal error";
  }
  return "unknown";
}

sv_status sv_model_load(const char* dir, const sv_model_params* params, sv_model** out, char* error, size_t error_size) {
  if (!out || !dir) {
    copy_error("sv_model_load: dir and out are required", error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
  *out = nullptr;
  try {
    auto m = std::make_unique<sv_model>();
    const sv_model_params p = params ? *params : sv_model_default_params();
    sv::Placement pl;
    try {  // bad device / dtype strings are the caller's arguments, not the model's
      pl = sv::parse_placement(p.device ? p.device : "", p.dtype ? p.dtype : "");
    } catch (const std::exception& e) {
      copy_error(one_line(e.what()), error, error_size);
      return SV_ERROR_INVALID_ARGUMENT;
    }
    m->ctx = std::make_unique<sv::Context>(pl.device, p.threads, pl.index, pl.compute);
    m->device_desc = (pl.device == sv::Device::CPU ? std::string("cpu") : m->ctx->runtime()->name()) + ", " +
                     (pl.compute == sv::DType::BF16 ? "bf16" : "fp32");
    m->pipe = sv::pipeline::VideoPipeline::load(dir, m->ctx.get());
    m->defaults = read_defaults(dir);
    *out = m.release();
    return SV_OK;
  } catch (const std::bad_alloc&) {
    copy_error("out of memory loading the model", error, error_size);
    return SV_ERROR_MODEL;
  } catch (const std::exception& e) {
    copy_error(one_line(e.what()), error, error_size);
    return SV_ERROR_MODEL;
  }
}

void sv_model_free(sv_model* m) { delete m; }

sv_model_info sv_model_get_info(const sv_model* m) {
  sv_model_info info;
  std::memset(&info, 0, sizeof info);
  if (!m) return info;
  const ModelDefaults& d = m->defaults;
  info.default_width = d.width, info.default_height = d.height, info.default_frames = d.frames;
  info.default_fps = d.fps, info.default_steps = d.steps;
  info.default_guidance_scale = static_cast<float>(d.guidance_scale);
  const sv::VideoVae::Info& vi = m->pipe->vae().info();
  info.frame_step = static_cast<int>(vi.temporal_factor);
  info.size_multiple = static_cast<int>(m->pipe->size_multiple());
  const auto* sv1 = m->pipe->sana_video();
  info.long_video = sv1 && sv1->long_scheduler_config() != nullptr;
  return info;
}

const char* sv_model_last_error(const sv_model* m) {
  if (!m) return "no model";
  std::lock_guard<std::mutex> lock(m->err_mu);
  auto it = m->errors.find(std::this_thread::get_id());
  return it == m->errors.end() ? "" : it->second.c_str();
}

const char* sv_model_device(const sv_model* m) { return m ? m->device_desc.c_str() : "no model"; }

int sv_cuda_device_count(void) { return sv::cuda_device_count(); }

const char* sv_default_model_dir(void) {
  namespace fs = std::filesystem;
  static const std::string found = [] {
    if (const char* env = std::getenv("SANA_VIDEO_MODEL"); env && *env) return std::string(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> candidates;
    if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "sana-video" / "sana-video-toy");
    candidates.push_back(fs::path(SV_SOURCE_DIR) / "models" / "sana-video-toy");
    for (const fs::path& c : candidates)
      if (fs::exists(c / "model_index.json", ec)) return c.string();
    return std::string();
  }();
  return found.empty() ? nullptr : found.c_str();
}

sv_status sv_generate_check(const sv_model* m, const sv_generate_params* gp, char* error, size_t error_size) {
  if (!m || !gp) {
    copy_error("sv_generate_check: model and params are required", error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
  try {
    prepare(m, gp);
    return SV_OK;
  } catch (const std::bad_alloc&) {
    copy_error("out of host memory", error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    copy_error(one_line(e.what()), error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
}

sv_status sv_generate(sv_model* m, sv_generate_params* gp) {
  if (!m || !gp) return SV_ERROR_INVALID_ARGUMENT;
  std::string& last_error = m->last_error();
  last_error.clear();
  std::lock_guard<std::mutex> run_lock(m->run_mu);
  sv_status fail = SV_ERROR_INVALID_ARGUMENT;
  try {
    namespace pl = sv::pipeline;
    Prepared prep = prepare(m, gp);
    pl::GenerateParams& p = prep.p;
    pl::LongGenerateParams& lp = prep.lp;
    const int fps = prep.fps;
    if (!p.image_path.empty()) {  // decoded here so an unreadable file is an I/O error before any work
      fail = SV_ERROR_IO;
      p.image = sv::io::read_image(p.image_path);
      p.image_path.clear();
    }
    if (gp->initial_latents_path && *gp->initial_latents_path) {
      fail = SV_ERROR_IO;
      const auto src = sv::io::TensorSource::open(gp->initial_latents_path);
      SV_CHECK(src.has("latents"), gp->initial_latents_path, ": no tensor 'latents'");
      p.initial_latents = src.get("latents");
    }
    if (gp->prompt_embeds_path && *gp->prompt_embeds_path) {
      fail = SV_ERROR_IO;
      const auto src = sv::io::TensorSource::open(gp->prompt_embeds_path);
      SV_CHECK(src.has("prompt_embeds") && src.has("prompt_attention_mask"), gp->prompt_embeds_path,
               ": needs prompt_embeds and prompt_attention_mask");
      p.prompt_embeds = src.get("prompt_embeds");
      p.prompt_mask = src.get("prompt_attention_mask");
      if (src.has("negative_prompt_embeds") && src.has("negative_prompt_attention_mask")) {
        p.negative_embeds = src.get("negative_prompt_embeds");
        p.negative_mask = src.get("negative_prompt_attention_mask");
      }
    }
    const bool read_tensors = (gp->initial_latents_path && *gp->initial_latents_path) ||
                              (gp->prompt_embeds_path && *gp->prompt_embeds_path);
    if (read_tensors) {  // the tensors just read from files (shapes) are the caller's arguments too
      fail = SV_ERROR_INVALID_ARGUMENT;
      m->pipe->validate(p);
    }
    // The writer opens before the long work so a bad path fails fast; it writes a temporary file
    // that only finish() renames into place.
    std::unique_ptr<sv::io::VideoWriter> writer;
    if (gp->output_path && *gp->output_path) {
      fail = SV_ERROR_IO;
      sv::io::VideoWriter::Options o;
      o.width = p.width;
      o.height = p.height;
      o.fps = fps;
      o.fragmented = gp->long_video != 0;
      // Encoding runs on its own thread, beside the decoder.
      writer = std::make_unique<sv::io::AsyncVideoWriter>(sv::io::VideoWriter::open(gp->output_path, o));
      if (gp->long_video && gp->progress)
        gp->progress(("streaming to " + writer->temp_path()).c_str(), 0, 0, 0.0, -1.0, gp->user_data);
      if (gp->long_video && gp->on_partial_file) gp->on_partial_file(writer->temp_path().c_str(), gp->user_data);
    }
    fail = SV_ERROR_INTERNAL;
    const auto t0 = std::chrono::steady_clock::now();
    double stage_start = 0;
    pl::GenerateCallbacks cb;
    cb.progress = [&](const char* stage, int step, int total) {
      if (!gp->progress) return;
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (step == 0) stage_start = el;
      const double done = el - stage_start;
      const double eta = step > 0 && step < total ? done / step * (total - step) : step >= total ? 0.0 : -1.0;
      gp->progress(stage, step, total, el, eta, gp->user_data);
    };
    cb.cancelled = [&] { return gp->cancel && gp->cancel(gp->user_data) != 0; };
    if (gp->on_step) cb.on_step = [&](int step, int total, double t) { gp->on_step(step, total, t, gp->user_data); };
    if (gp->next_prompt)
      cb.next_prompt = [&](int block, double start_s) -> std::string {
        const char* text = gp->next_prompt(block, start_s, gp->user_data);
        std::string s = text ? text : "";
        check_prompt("the next prompt", s);
        return s;
      };
    int frames_handed = 0;
    std::vector<float> rgb;
    if (writer || gp->on_frames)
      cb.on_frames = [&](const sv::Tensor& f) {
        const sv::Tensor clip = f.select(0, 0);  // [3, n, H, W]
        if (writer) writer->write_frames(clip);
        if (gp->on_frames) {
          const int n = static_cast<int>(clip.size(1)), H = static_cast<int>(clip.size(2)), W = static_cast<int>(clip.size(3));
          rgb.resize(size_t(n) * H * W * 3);
          sv::io::frames_to_rgb_f32(clip, rgb.data());
          gp->on_frames(rgb.data(), frames_handed, n, p.frames, H, W, gp->user_data);
          frames_handed += n;
        }
      };
    const pl::GenerateResult r =
        gp->long_video ? pl::generate_long(*m->ctx, *m->pipe->sana_video(), lp, cb) : m->pipe->generate(*m->ctx, p, cb);
    if (r.cancelled) {
      last_error = "cancelled";
      return SV_ERROR_CANCELLED;  // the writer's destructor removes the temporary file
    }
    fail = SV_ERROR_IO;
    if (writer) writer->finish();
    if (gp->output_latents_path && *gp->output_latents_path)
      sv::io::write_safetensors(gp->output_latents_path, {{"latents", r.latents}});
    if (gp->on_latents && r.latents.defined()) {
      const sv::Tensor lat = r.latents.to_f32().contiguous();
      const std::vector<int64_t> shape(lat.shape().begin(), lat.shape().end());
      gp->on_latents(lat.f32(), shape.data(), static_cast<int>(shape.size()), gp->user_data);
    }
    gp->seconds_encode = r.seconds_encode;
    gp->seconds_denoise = r.seconds_denoise;
    gp->seconds_decode = r.seconds_decode;
    gp->frames_written = writer ? static_cast<int>(writer->frames_written()) : gp->on_frames ? frames_handed : p.frames;
    gp->width_used = p.width;
    gp->height_used = p.height;
    return SV_OK;
  } catch (const std::bad_alloc&) {
    last_error = "out of host memory";
    return SV_ERROR_INTERNAL;
  } catch (const std::exception& e) {
    last_error = one_line(e.what());
    return fail;
  }
}

sv_status sv_video_writer_open(const char* path, int width, int height, int fps, sv_video_writer** out, char* error,
                               size_t error_size) {
  if (!out || !path || !*path) {
    copy_error("sv_video_writer_open: path and out are required", error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
  *out = nullptr;
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384 || fps <= 0 || fps > 240) {
    copy_error("video size must be in [1, 16384] and fps in [1, 240], got " + std::to_string(width) + "x" +
                   std::to_string(height) + " at " + std::to_string(fps) + " fps",
               error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
  try {
    auto w = std::make_unique<sv_video_writer>();
    sv::io::VideoWriter::Options o;
    o.width = width;
    o.height = height;
    o.fps = fps;
    w->writer = sv::io::VideoWriter::open(path, o);
    w->width = width;
    w->height = height;
    *out = w.release();
    return SV_OK;
  } catch (const std::exception& e) {
    copy_error(one_line(e.what()), error, error_size);
    return SV_ERROR_IO;
  }
}

sv_status sv_video_writer_write_rgb8(sv_video_writer* w, const uint8_t* rgb, int count) {
  if (!w) return SV_ERROR_INVALID_ARGUMENT;
  if (count < 0 || (count > 0 && !rgb)) {
    w->last_error = "sv_video_writer_write_rgb8: count must be >= 0 with frame data";
    return SV_ERROR_INVALID_ARGUMENT;
  }
  try {
    w->writer->write_rgb24(rgb, count);
    return SV_OK;
  } catch (const std::exception& e) {
    w->last_error = one_line(e.what());
    return SV_ERROR_IO;
  }
}

sv_status sv_video_writer_finish(sv_video_writer* w) {
  if (!w) return SV_ERROR_INVALID_ARGUMENT;
  try {
    w->writer->finish();
    return SV_OK;
  } catch (const std::exception& e) {
    w->last_error = one_line(e.what());
    return SV_ERROR_IO;
  }
}

const char* sv_video_writer_last_error(const sv_video_writer* w) { return w ? w->last_error.c_str() : "no writer"; }

void sv_video_writer_free(sv_video_writer* w) { delete w; }

}  // extern "C"
