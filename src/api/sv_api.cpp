// C shim over the C++ engine: catches everything, maps errors to sv_status + a message per handle.
#include "sv/sv.h"

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "core/context.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "pipeline/sana_video_pipeline.h"

struct sv_model {
  std::unique_ptr<sv::pipeline::SanaVideoPipeline> pipe;
  std::unique_ptr<sv::Context> ctx;
  std::string last_error;
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

}  // namespace

extern "C" {

sv_model_params sv_model_default_params(void) {
  sv_model_params p;
  p.threads = 0;
  return p;
}

sv_generate_params sv_generate_default_params(void) {
  sv_generate_params p;
  std::memset(&p, 0, sizeof p);
  p.negative_prompt = "";
  p.width = 832;
  p.height = 480;
  p.frames = 81;
  p.fps = 16;
  p.steps = 50;
  p.guidance_scale = 6.0f;
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
    m->ctx = std::make_unique<sv::Context>(sv::Device::CPU, p.threads);
    m->pipe = sv::pipeline::SanaVideoPipeline::load(dir);
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
    p.width = gp->width;
    p.height = gp->height;
    p.frames = gp->frames;
    p.steps = gp->steps;
    p.guidance_scale = gp->guidance_scale;
    p.seed = gp->seed;
    p.sampler = gp->sampler ? gp->sampler : "";
    p.shift = gp->shift;
    p.motion_score = gp->motion_score;
    p.resolution_binning = gp->resolution_binning != 0;
    const std::string chi = gp->chi ? gp->chi : "diffusers";
    SV_CHECK(chi == "diffusers" || chi == "official" || chi == "none", "chi must be diffusers, official or none");
    p.chi = chi == "diffusers" ? pl::Chi::Diffusers : chi == "official" ? pl::Chi::Official : pl::Chi::None;
    SV_CHECK(gp->fps > 0 && gp->fps <= 240, "fps must be in [1, 240], got ", gp->fps);
    m->pipe->validate(p);
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
      o.fps = gp->fps;
      writer = sv::io::VideoWriter::open(gp->output_path, o);
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
    const pl::GenerateResult r = m->pipe->generate(*m->ctx, p, cb);
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
