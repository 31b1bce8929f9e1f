#include "pipeline/sana_video2_pipeline.h"

#include <cmath>
#include <filesystem>

#include "io/json_config.h"
#include "ops/ops.h"
#include "pipeline/latents.h"
#include "sampling/official_flow.h"

namespace sv::pipeline {
namespace fs = std::filesystem;

std::unique_ptr<SanaVideo2Pipeline> SanaVideo2Pipeline::load(const std::string& dir, const Context* place) {
  SV_CHECK(fs::is_directory(dir), dir, ": pipeline directory not found");
  auto part = [&](const char* name, const char* what) {
    const fs::path p = fs::path(dir) / name;
    SV_CHECK(fs::is_directory(p), p.string(), ": missing; a SANA-Video 2.0 folder needs ", what, " beside transformer/");
    return p.string();
  };
  auto pl = std::make_unique<SanaVideo2Pipeline>();
  pl->transformer_ = sana_video2::Transformer::load(part("transformer", "the converted transformer"), place);
  pl->vae_ = VideoVae::load(part("vae", "the LTX-2.3 VAE (LTX-2.3-Diffusers vae/)"), place);
  pl->tokenizer_ = text::Tokenizer::load(part("tokenizer", "Gemma-2's tokenizer (gemma-2-2b-it)"));
  pl->text_encoder_ = gemma2::Gemma2Model::load(part("text_encoder", "Gemma-2 (gemma-2-2b-it)"), place);
  const auto& tc = pl->transformer_->config();
  const VideoVae::Info& vi = pl->vae_->info();
  SV_CHECK(tc.in_channels == vi.latent_channels, dir, ": transformer in_channels ", tc.in_channels, " != the VAE's ",
           vi.latent_channels, " latent channels (", vi.class_name, ")");
  SV_CHECK(tc.caption_channels == pl->text_encoder_->config().hidden_size, dir, ": transformer caption_channels ",
           tc.caption_channels, " != text encoder width ", pl->text_encoder_->config().hidden_size);
  pl->vae_->check_declared_factors();
  pl->chi_ = official_chi();
  const fs::path defaults = fs::path(dir) / "generation_defaults.json";
  if (fs::exists(defaults)) {
    const io::JsonConfig j = io::JsonConfig::load(defaults.string());
    if (j.has("chi_prompt")) {
      SV_CHECK(j.json()["chi_prompt"].is_array(), j.origin(), ": chi_prompt must be a list of lines");
      pl->chi_.clear();
      for (const auto& l : j.json()["chi_prompt"]) {
        SV_CHECK(l.is_string(), j.origin(), ": chi_prompt must be a list of lines");
        pl->chi_.push_back(l.get<std::string>());
      }
    }
    pl->max_sequence_length_ = j.get_int("max_sequence_length", pl->max_sequence_length_);
    const int64_t motion = j.get_int("motion_score", pl->motion_score_);
    pl->shift_ = j.get_float("shift", pl->shift_);
    pl->negative_prompt_ = j.get_string("negative_prompt", std::string());
    pl->sampler_ = j.get_string("sampler", std::string());
    SV_CHECK(pl->max_sequence_length_ >= 2 && pl->max_sequence_length_ <= 4096, j.origin(),
             ": max_sequence_length must be in [2, 4096]");
    SV_CHECK(motion >= 0 && motion <= 1000, j.origin(), ": motion_score must be in [0, 1000]");
    SV_CHECK(std::isfinite(pl->shift_) && pl->shift_ > 0 && pl->shift_ < 1000, j.origin(), ": shift must be in (0, 1000)");
    SV_CHECK(pl->sampler_.empty() || pl->sampler_ == "dpm" || pl->sampler_ == "dmd", j.origin(),
             ": sampler must be dpm or dmd");
    pl->motion_score_ = static_cast<int>(motion);
  }
  return pl;
}

int64_t SanaVideo2Pipeline::size_multiple() const {
  const auto& ps = transformer_->config().patch_size;
  return vae_->info().spatial_factor * std::max(ps[1], ps[2]);
}

void SanaVideo2Pipeline::validate(const GenerateParams& p) const {
  const VideoVae::Info& vi = vae_->info();
  const int64_t m = size_multiple(), ft = vi.temporal_factor;
  auto nearest = [](int64_t v, int64_t k) { return std::max<int64_t>(k, (v + k / 2) / k * k); };
  SV_CHECK(!p.resolution_binning, "resolution binning is a diffusers pipeline option; SANA-Video 2.0 has no bucket table");
  SV_CHECK(p.height > 0 && p.height % m == 0, "height ", p.height, " is not a multiple of ", m, "; nearest valid: ",
           nearest(p.height, m));
  SV_CHECK(p.width > 0 && p.width % m == 0, "width ", p.width, " is not a multiple of ", m, "; nearest valid: ",
           nearest(p.width, m));
  SV_CHECK(p.frames > 0 && (p.frames - 1) % ft == 0, "frames ", p.frames, " is not ", ft, "k + 1; nearest valid: ",
           std::max<int64_t>(1, (p.frames - 1 + ft / 2) / ft * ft + 1));
  SV_CHECK(p.guidance_scale >= 0, "guidance scale must not be negative, got ", p.guidance_scale);
  const std::string& sampler = sampler_of(p);
  SV_CHECK(sampler.empty() || sampler == "dpm" || sampler == "dmd", "unknown sampler '", sampler,
           "' for SANA-Video 2.0 (dpm: the release's 50-step solver; dmd: the 4-step preview)");
  SV_CHECK(p.shift == 0 || (std::isfinite(p.shift) && p.shift > 0 && p.shift < 1000), "shift must be in (0, 1000), got ",
           p.shift);
  // The latent grid must fit the rotary tables (1024 positions per axis).
  const auto& tc = transformer_->config();
  const int64_t lf = (p.frames - 1) / ft + 1, lh = p.height / vi.spatial_factor, lw = p.width / vi.spatial_factor;
  SV_CHECK(lf / tc.patch_size[0] <= tc.rope_max_seq_len && lh / tc.patch_size[1] <= tc.rope_max_seq_len &&
               lw / tc.patch_size[2] <= tc.rope_max_seq_len,
           "a latent grid of ", lf, " x ", lh, " x ", lw, " exceeds the model's ", tc.rope_max_seq_len,
           " rotary positions per axis");
  if (sampler == "dmd") {
    SV_CHECK(p.steps == 4, "the 4-step DMD sampler takes exactly 4 steps, got ", p.steps);
    SV_CHECK(p.guidance_scale <= 1.0, "the 4-step DMD sampler runs without guidance (guidance scale 1), got ",
             p.guidance_scale);
    SV_CHECK(!p.has_image(), "the 4-step DMD sampler is text-to-video only");
  } else {
    SV_CHECK(p.steps >= 2 && p.steps <= 1000, "steps must be in [2, 1000], got ", p.steps);
  }
  SV_CHECK(!p.has_image() || p.frames > ft, "image-to-video needs more than one latent frame (frames >= ", ft + 1, ")");
  vae_->check_decode_size(p.height / vi.spatial_factor, p.width / vi.spatial_factor, p.vae_tiling);
  if (p.initial_latents.defined()) {
    const Shape shape{1, vi.latent_channels, (p.frames - 1) / ft + 1, p.height / vi.spatial_factor,
                      p.width / vi.spatial_factor};
    SV_CHECK(p.initial_latents.shape() == shape, "initial latents must be ", shape_str(shape), ", got ",
             shape_str(p.initial_latents.shape()));
  }
  if (p.prompt_embeds.defined()) {
    const int64_t D = text_encoder_->config().hidden_size;
    SV_CHECK(p.prompt_embeds.dim() == 3 && p.prompt_embeds.size(0) == 1 && p.prompt_embeds.size(2) == D &&
                 p.prompt_mask.defined() && p.prompt_mask.shape() == Shape({1, p.prompt_embeds.size(1)}),
             "prompt_embeds must be [1, L, ", D, "] with a [1, L] mask, got ", shape_str(p.prompt_embeds.shape()));
    SV_CHECK(!p.negative_embeds.defined() ||
                 (p.negative_embeds.dim() == 3 && p.negative_embeds.size(0) == 1 && p.negative_embeds.size(2) == D &&
                  p.negative_mask.defined() && p.negative_mask.shape() == Shape({1, p.negative_embeds.size(1)})),
             "negative_prompt_embeds must be [1, L, ", D, "] with a [1, L] mask");
  }
}

MemoryEstimate SanaVideo2Pipeline::estimate_memory(const GenerateParams& p, bool decode) const {
  const int64_t f = vae_->info().spatial_factor;
  const int64_t h = p.height / f, w = p.width / f, T = (p.frames - 1) / vae_->info().temporal_factor + 1;
  const int batch = p.guidance_scale > 1.0 && sampler_of(p) != "dmd" ? 2 : 1;
  return {transformer_->forward_bytes(batch, T, h, w), decode ? vae_->decode_bytes(h, w, p.vae_tiling) : 0, p.width,
          p.height, T, batch};
}

// 1. The release's prompt handling: CHI + the prompt (stripped, " motion score: N." appended, not
// lower-cased), BOS and the last L - 1 positions; the negative prompt as is at L tokens.
PromptEmbeds SanaVideo2Pipeline::encode_prompts(Context& ctx, const GenerateParams& p) const {
  std::unique_ptr<Context> host_owned;
  if (ctx.device() != Device::CPU) host_owned = std::make_unique<Context>(Device::CPU, ctx.threads());
  Context& host = host_owned ? *host_owned : ctx;
  PromptEncoder pe(*tokenizer_, *text_encoder_, false);
  const int score = p.motion_score >= 0 ? p.motion_score : motion_score_;
  const std::vector<std::string> none;
  const auto& chi = p.chi == Chi::Diffusers ? diffusers_chi() : p.chi == Chi::None ? none : chi_;
  PromptEmbeds pos = p.prompt_embeds.defined()
                         ? PromptEmbeds{p.prompt_embeds.to(DType::F32), p.prompt_mask.to(DType::F32)}
                         : pe.encode(ctx, {with_motion_score(p.prompt, score)}, chi, max_sequence_length_);
  PromptEmbeds out = pos;
  if (p.guidance_scale > 1.0 && sampler_of(p) != "dmd") {
    PromptEmbeds neg = p.negative_embeds.defined()
                           ? PromptEmbeds{p.negative_embeds.to(DType::F32), p.negative_mask.to(DType::F32)}
                           : pe.encode_negative(ctx, {p.negative_prompt}, max_sequence_length_);
    SV_CHECK(neg.embeds.size(1) == pos.embeds.size(1), "positive and negative embeddings differ in length (",
             pos.embeds.size(1), " vs ", neg.embeds.size(1), ")");
    out.embeds = ops::cat(host, {neg.embeds, pos.embeds}, 0);
    out.mask = ops::cat(host, {neg.mask.to(DType::F32), pos.mask.to(DType::F32)}, 0);
  }
  out.embeds = ctx.to_device(out.embeds);
  return out;
}

// 2. torch.randn from the seeded generator (which the DMD sampler keeps drawing from); image-to-video
// puts the encoded, normalised first frame in latent frame 0.
Tensor SanaVideo2Pipeline::prepare_latents(Context& ctx, const GenerateParams& p, TorchGenerator& gen) const {
  const VideoVae::Info& vi = vae_->info();
  const Shape shape{1, vi.latent_channels, (p.frames - 1) / vi.temporal_factor + 1, p.height / vi.spatial_factor,
                    p.width / vi.spatial_factor};
  Tensor latents = p.initial_latents.defined() ? p.initial_latents.to(DType::F32) : gen.randn(shape);
  if (p.has_image()) {
    // The official path: BICUBIC to cover the size, then the centre crop (not diffusers' LANCZOS stretch).
    const io::Image img =
        io::resize_fill_crop_official(p.image_path.empty() ? p.image : io::read_image(p.image_path), p.width, p.height);
    Tensor lat0 = vae_->encode_mean(ctx, io::image_to_tensor(img).unsqueeze(2), p.vae_tiling);
    normalise_latents_(ctx, *vae_, lat0);
    latents = ops::cat(ctx, {lat0, ctx.to_device(latents.narrow(2, 1, latents.size(2) - 1))}, 2);
  }
  return ctx.to_device(latents);
}

Tensor SanaVideo2Pipeline::model(Context& ctx, const Tensor& x, const Tensor& timestep, const PromptEmbeds& e) const {
  sana_video2::Inputs in;
  in.hidden_states = x;
  in.encoder_hidden_states = e.embeds;
  in.encoder_attention_mask = e.mask;
  in.timestep = timestep;
  return transformer_->forward(ctx, in);
}

// 3. The release's samplers: the official flow DPM-Solver++ (guidance on the noise prediction), the
// image-to-video Euler with frame 0 clean at timestep 0, or the 4-step DMD chain. Undefined when cancelled.
Tensor SanaVideo2Pipeline::denoise(Context& ctx, const GenerateParams& p, const PromptEmbeds& embeds, Tensor x,
                                   TorchGenerator& gen, const GenerateCallbacks& cb) const {
  const bool dmd = sampler_of(p) == "dmd", i2v = p.has_image(), cfg = p.guidance_scale > 1.0 && !dmd;
  const int64_t B = cfg ? 2 : 1, F = x.size(2);
  const double shift = p.shift > 0 ? p.shift : shift_;
  auto batch = [&](const Tensor& v) { return cfg ? ops::cat(ctx, {v, v}, 0) : v; };
  auto scalar_t = [&](float t) { return Tensor::from_vector(std::vector<float>(static_cast<size_t>(B), t), {B}); };
  const float g = static_cast<float>(p.guidance_scale);
  sampling::OfficialFlowDpm dpm(std::max(p.steps, 2), shift);
  sampling::LtxFlowEuler euler(p.steps, shift);
  sampling::Dmd4Step dmd4;
  const int total = dmd ? dmd4.steps() : p.steps;
  if (cb.progress) cb.progress("denoise", 0, total);
  for (int i = 0; i < total; ++i) {
    if (cb.cancelled && cb.cancelled()) return Tensor();
    float t = 0;
    if (dmd) {
      t = dmd4.model_timestep(i);
      x = dmd4.step(ctx, x, model(ctx, x, scalar_t(t), embeds), i, gen);
    } else if (i2v) {
      t = euler.model_timestep(i);
      std::vector<float> tf(static_cast<size_t>(B * F), t);
      for (int64_t b = 0; b < B; ++b) tf[static_cast<size_t>(b * F)] = 0.0f;  // the clean conditioning frame
      Tensor v = model(ctx, batch(x), Tensor::from_vector(tf, {B, 1, F}), embeds);
      if (cfg) v = ops::cfg_combine(ctx, v, g);
      x = euler.step(ctx, x, v, i);
    } else {
      t = dpm.model_timestep(i);
      x = dpm.step(ctx, x, model(ctx, batch(x), scalar_t(t), embeds), g, i);
    }
    if (cb.on_step) cb.on_step(i + 1, total, t);
    if (cb.progress) cb.progress("denoise", i + 1, total);
  }
  return x;
}

GenerateResult SanaVideo2Pipeline::generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const {
  validate(p);
  check_fits(ctx, p, static_cast<bool>(cb.on_frames));
  PromptEmbeds embeds;
  TorchGenerator gen(p.seed);  // the starting noise, then the DMD sampler's transition draws
  return run_stages(
      ctx, cb,
      [&] {
        embeds = encode_prompts(ctx, p);
        return prepare_latents(ctx, p, gen);
      },
      [&](const Tensor& latents) { return denoise(ctx, p, embeds, latents, gen, cb); }, *vae_, p.vae_tiling);
}

}  // namespace sv::pipeline
