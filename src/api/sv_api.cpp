// C shim over the C++ engine: catches everything, maps errors to sv_status + a message per handle.
#include "sv/sv.h"

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "core/context.h"
#include "io/safetensors.h"
#include "io/async_writer.h"
#include "io/video_writer.h"
#include "io/json_config.h"
#include "pipeline/long_video.h"
#include "pipeline/sana_video_pipeline.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

// A model folder's optional generation_defaults.json: what 0 in sv_generate_params means for it.
struct ModelDefaults {
  int width = 832, height = 480, frames = 81, fps = 16, steps = 50;
  double guidance_scale = 6.0;
};

struct sv_model {
  std::unique_ptr<sv::pipeline::SanaVideoPipeline> pipe;
  std::unique_ptr<sv::Context> ctx;
  ModelDefaults defaults;
  std::string last_error;
  std::string device_desc;
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

// Pixel frames for the long mode: at least one, snapped up to 4k + 1.
int snap_frames(int frames, int ft) { return frames <= 1 ? 1 : (frames - 2) / ft * ft + ft + 1; }

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
  p.negative_prompt = "";
  p.guidance_scale = -1.0f;  // the model's default
  p.motion_score = -1;
  p.chi = "diffusers";
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
    m->pipe = sv::pipeline::SanaVideoPipeline::load(dir, m->ctx.get());
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

const char* sv_model_last_error(const sv_model* m) { return m ? m->last_error.c_str() : "no model"; }

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

sv_status sv_generate(sv_model* m, sv_generate_params* gp) {
  if (!m || !gp) return SV_ERROR_INVALID_ARGUMENT;
  m->last_error.clear();
  sv_status fail = SV_ERROR_INVALID_ARGUMENT;
  try {
    namespace pl = sv::pipeline;
    pl::GenerateParams p;
    p.prompt = gp->prompt ? gp->prompt : "";
    p.negative_prompt = gp->negative_prompt ? gp->negative_prompt : "";
    if (gp->image_path && *gp->image_path) p.image_path = gp->image_path;
    SV_CHECK(gp->width >= 0 && gp->height >= 0 && gp->frames >= 0 && gp->steps >= 0 && gp->fps >= 0,
             "width, height, frames, steps and fps must be positive (0 = the model's default)");
    const ModelDefaults& d = m->defaults;
    p.width = gp->width > 0 ? gp->width : d.width;
    p.height = gp->height > 0 ? gp->height : d.height;
    p.steps = gp->steps > 0 ? gp->steps : d.steps;
    p.guidance_scale = gp->guidance_scale >= 0 ? gp->guidance_scale : d.guidance_scale;
    const int fps = gp->fps > 0 ? gp->fps : d.fps;
    if (gp->seconds > 0) {  // the duration at the requested (or the model's) frame rate
      SV_CHECK(gp->frames == 0, "give seconds or frames, not both");
      SV_CHECK(gp->seconds * fps <= 1e6, gp->seconds, " s at ", fps, " fps is too long");
      p.frames = static_cast<int>(gp->seconds * fps + 0.5);
    } else {
      p.frames = gp->frames > 0 ? gp->frames : d.frames;
    }
    p.seed = gp->seed;
    p.sampler = gp->sampler ? gp->sampler : "";
    p.shift = gp->shift;
    p.motion_score = gp->motion_score;
    p.resolution_binning = gp->resolution_binning != 0;
    const std::string chi = gp->chi ? gp->chi : "diffusers";
    SV_CHECK(chi == "diffusers" || chi == "official" || chi == "none", "chi must be diffusers, official or none");
    p.chi = chi == "diffusers" ? pl::Chi::Diffusers : chi == "official" ? pl::Chi::Official : pl::Chi::None;
    SV_CHECK(fps <= 240, "fps must be in [1, 240], got ", fps);
    pl::LongGenerateParams lp;
    if (gp->long_video) {
      lp.height = p.height, lp.width = p.width, lp.fps = fps, lp.seed = p.seed;
      lp.frames = snap_frames(p.frames, static_cast<int>(m->pipe->vae().config().scale_factor_temporal));
      lp.block_frames = gp->block_frames > 0 ? gp->block_frames : 10;
      SV_CHECK(gp->block_frames >= 0 && gp->window_blocks >= 0, "block_frames and window_blocks must be >= 0");
      lp.window_blocks = gp->window_blocks;
      lp.schedule = pl::long_schedule_for(*m->pipe);
      lp.schedule.bf16_timesteps = gp->exact_timesteps == 0;
      lp.motion_score = p.motion_score, lp.chi = p.chi;
      SV_CHECK(gp->prompt_schedule_count >= 0 && (gp->prompt_schedule_count == 0 || gp->prompt_schedule),
               "prompt_schedule_count without a prompt_schedule");
      for (int i = 0; i < gp->prompt_schedule_count; ++i) {
        const sv_prompt_segment& sgm = gp->prompt_schedule[i];
        SV_CHECK(sgm.prompt && *sgm.prompt, "prompt schedule entry ", i, " has no prompt");
        lp.prompts.push_back({sgm.start_seconds, sgm.prompt});
      }
      if (lp.prompts.empty()) lp.prompts.push_back({0.0, p.prompt});
      SV_CHECK(p.image_path.empty() && !(gp->initial_latents_path && *gp->initial_latents_path) &&
                   !(gp->prompt_embeds_path && *gp->prompt_embeds_path) && !(gp->output_latents_path && *gp->output_latents_path),
               "long video mode takes prompts only (no image, latents or prompt embeddings)");
      pl::plan_long(*m->pipe, lp);  // every check before any work or file
      p.frames = static_cast<int>(lp.frames);
    } else {
      m->pipe->validate(p);
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
    if (writer) cb.on_frames = [&](const sv::Tensor& f) { writer->write_frames(f.select(0, 0)); };
    const pl::GenerateResult r =
        gp->long_video ? pl::generate_long(*m->ctx, *m->pipe, lp, cb) : m->pipe->generate(*m->ctx, p, cb);
    if (r.cancelled) {
      m->last_error = "cancelled";
      return SV_ERROR_CANCELLED;  // the writer's destructor removes the temporary file
    }
    fail = SV_ERROR_IO;
    if (writer) writer->finish();
    if (gp->output_latents_path && *gp->output_latents_path)
      sv::io::write_safetensors(gp->output_latents_path, {{"latents", r.latents}});
    gp->seconds_encode = r.seconds_encode;
    gp->seconds_denoise = r.seconds_denoise;
    gp->seconds_decode = r.seconds_decode;
    gp->frames_written = writer ? static_cast<int>(writer->frames_written()) : p.frames;
    gp->width_used = p.width;
    gp->height_used = p.height;
    return SV_OK;
  } catch (const std::bad_alloc&) {
    m->last_error = "out of host memory";
    return SV_ERROR_INTERNAL;
  } catch (const std::exception& e) {
    m->last_error = one_line(e.what());
    return fail;
  }
}

}  // extern "C"
