#include "pipeline/sana_video_pipeline.h"

#include <filesystem>

#include "core/rng.h"
#include "io/image.h"
#include "pipeline/binning.h"
#include "pipeline/latents.h"

#include <tuple>
#include "ops/ops.h"

namespace sv::pipeline {
namespace fs = std::filesystem;

std::unique_ptr<SanaVideoPipeline> SanaVideoPipeline::load(const std::string& dir, const Context* place) {
  SV_CHECK(fs::is_directory(dir), dir, ": pipeline directory not found");
  const io::JsonConfig index = io::JsonConfig::load((fs::path(dir) / "model_index.json").string());
  auto part = [&](const char* name, const std::vector<std::string>& classes) {
    SV_CHECK(index.json().contains(name) && index.json()[name].is_array() && index.json()[name].size() == 2 &&
                 index.json()[name][1].is_string(),
             index.origin(), ": the pipeline has no '", name, "' part");
    const std::string cls = index.json()[name][1].get<std::string>();
    SV_CHECK(std::find(classes.begin(), classes.end(), cls) != classes.end(), index.origin(), ": ", name, " is a ", cls,
             ", which this engine does not run");
    const fs::path p = fs::path(dir) / name;
    SV_CHECK(fs::is_directory(p), p.string(), ": missing pipeline part folder");
    return p.string();
  };
  auto pl = std::make_unique<SanaVideoPipeline>();
  pl->dir_ = dir;
  pl->tokenizer_ = text::Tokenizer::load(part("tokenizer", {"GemmaTokenizer", "GemmaTokenizerFast"}));
  pl->text_encoder_ = gemma2::Gemma2Model::load(part("text_encoder", {"Gemma2Model"}), place);
  pl->transformer_ = sana_dit::SanaVideoTransformer::load(part("transformer", {"SanaVideoTransformer3DModel"}), place);
  pl->vae_ = VideoVae::load(part("vae", {"AutoencoderKLWan", "AutoencoderKLLTX2Video"}), place);
  const std::string sched =
      part("scheduler", {"DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler", "UniPCMultistepScheduler"});
  pl->scheduler_config_ = std::make_unique<io::JsonConfig>(io::JsonConfig::load(sched + "/scheduler_config.json"));
  const fs::path long_sched = fs::path(dir) / "longsana" / "scheduler" / "scheduler_config.json";
  if (fs::exists(long_sched))
    pl->long_scheduler_config_ = std::make_unique<io::JsonConfig>(io::JsonConfig::load(long_sched.string()));
  const VideoVae::Info& vi = pl->vae_->info();
  SV_CHECK(pl->transformer_->config().in_channels == vi.latent_channels, dir, ": transformer in_channels ",
           pl->transformer_->config().in_channels, " != the VAE's ", vi.latent_channels, " latent channels (",
           vi.class_name, ")");
  SV_CHECK(pl->transformer_->config().caption_channels == pl->text_encoder_->config().hidden_size, dir,
           ": transformer caption_channels ", pl->transformer_->config().caption_channels, " != text encoder width ",
           pl->text_encoder_->config().hidden_size);
  SV_CHECK(static_cast<int64_t>(pl->vae_->latents_mean().size()) == vi.latent_channels &&
               static_cast<int64_t>(pl->vae_->latents_std().size()) == vi.latent_channels,
           dir, "/vae: latents_mean and latents_std need ", vi.latent_channels, " entries");
  pl->vae_->check_declared_factors();  // the pipeline sizes latents with the declared factors, as diffusers does
  return pl;
}

void SanaVideoPipeline::validate(const GenerateParams& p_in) const {
  GenerateParams p = p_in;
  if (p.resolution_binning) {
    SV_CHECK(p.height > 0 && p.width > 0, "height and width must be positive");
    std::tie(p.height, p.width) = classify_height_width_bin(p.height, p.width, transformer_->config().sample_size);
  }
  const VideoVae::Info& vi = vae_->info();
  const auto& tc = transformer_->config();
  const int64_t fh = vi.spatial_factor * tc.patch_size[1], fw = vi.spatial_factor * tc.patch_size[2];
  const int64_t ft = vi.temporal_factor;
  auto nearest = [](int64_t v, int64_t m) {
    const int64_t lo = std::max<int64_t>(m, v / m * m);
    return (v - lo <= lo + m - v || lo + m <= 0) ? lo : lo + m;
  };
  SV_CHECK(p.height > 0 && p.height % fh == 0, "height ", p.height, " is not a multiple of ", fh,
           " (VAE x patch); nearest valid: ", nearest(p.height, fh));
  SV_CHECK(p.width > 0 && p.width % fw == 0, "width ", p.width, " is not a multiple of ", fw,
           " (VAE x patch); nearest valid: ", nearest(p.width, fw));
  SV_CHECK(p.frames > 0 && (p.frames - 1) % ft == 0, "frames ", p.frames, " is not ", ft, "k + 1; nearest valid: ",
           std::max<int64_t>(1, (p.frames - 1 + ft / 2) / ft * ft + 1));
  SV_CHECK(p.steps > 0 && p.steps <= 1000, "steps must be in [1, 1000], got ", p.steps);
  SV_CHECK(p.guidance_scale >= 0, "guidance scale must not be negative, got ", p.guidance_scale);
  SV_CHECK(!p.has_image() || p.frames > ft, "image-to-video needs more than one latent frame (frames >= ", ft + 1, ")");
  // Decoder limits (the LTX-2 decoder's reflect padding, the tile grid) before any work, not at decode.
  vae_->check_decode_size(p.height / vi.spatial_factor, p.width / vi.spatial_factor, p.vae_tiling);
  // Caller-supplied tensors, checked here so that a wrong shape is the caller's error before any work.
  if (p.initial_latents.defined()) {
    const Shape shape{1, vi.latent_channels, (p.frames - 1) / ft + 1, p.height / vi.spatial_factor,
                      p.width / vi.spatial_factor};
    SV_CHECK(p.initial_latents.shape() == shape, "initial latents must be ", shape_str(shape), ", got ",
             shape_str(p.initial_latents.shape()));
  }
  if (p.prompt_embeds.defined()) {
    const int64_t D = text_encoder_->config().hidden_size;
    SV_CHECK(p.prompt_embeds.dim() == 3 && p.prompt_embeds.size(0) == 1 && p.prompt_embeds.size(2) == D,
             "prompt_embeds must be [1, L, ", D, "], got ", shape_str(p.prompt_embeds.shape()));
    SV_CHECK(p.prompt_mask.defined() && p.prompt_mask.shape() == Shape({1, p.prompt_embeds.size(1)}),
             "prompt_attention_mask must be [1, ", p.prompt_embeds.size(1), "]");
    if (p.negative_embeds.defined())
      SV_CHECK(p.negative_embeds.dim() == 3 && p.negative_embeds.size(0) == 1 && p.negative_embeds.size(2) == D &&
                   p.negative_mask.defined() && p.negative_mask.shape() == Shape({1, p.negative_embeds.size(1)}),
               "negative_prompt_embeds must be [1, L, ", D, "] with a [1, L] mask, got ",
               shape_str(p.negative_embeds.shape()));
  }
  SV_CHECK(p.sampler.empty() || p.sampler == "dpm++2m" || p.sampler == "euler" || p.sampler == "unipc", "unknown sampler '",
           p.sampler, "' (dpm++2m, euler, unipc)");
}

MemoryEstimate SanaVideoPipeline::estimate_memory(const GenerateParams& p, bool decode) const {
  int height = p.height, width = p.width;
  if (p.resolution_binning)
    std::tie(height, width) = classify_height_width_bin(p.height, p.width, transformer_->config().sample_size);
  return estimate_memory_at(height, width, (p.frames - 1) / vae_->info().temporal_factor + 1,
                            p.guidance_scale > 1.0 ? 2 : 1, decode, p.vae_tiling);
}

MemoryEstimate SanaVideoPipeline::estimate_memory_at(int height, int width, int64_t latent_frames, int batch,
                                                     bool decode, const VaeTiling& tiling) const {
  const int64_t f = vae_->info().spatial_factor;
  const int64_t h = height / f, w = width / f;
  return {transformer_->forward_bytes(batch, latent_frames, h, w), decode ? vae_->decode_bytes(h, w, tiling) : 0,
          width, height, latent_frames, batch};
}

std::unique_ptr<sampling::Scheduler> SanaVideoPipeline::make_scheduler(const GenerateParams& p) const {
  const std::string cls = scheduler_config_->get_string("_class_name");
  if (p.sampler.empty()) return sampling::Scheduler::from_config(*scheduler_config_, p.shift);
  if (p.sampler == "dpm++2m") {
    if (cls == "DPMSolverMultistepScheduler") return sampling::Scheduler::from_config(*scheduler_config_, p.shift);
    sampling::DpmConfig c;
    c.flow_shift = p.shift > 0 ? p.shift : scheduler_config_->get_float("shift", 8.0);
    return std::make_unique<sampling::FlowDpmSolverMultistep>(c);
  }
  const double shift = p.shift > 0 ? p.shift
                       : cls == "FlowMatchEulerDiscreteScheduler" ? scheduler_config_->get_float("shift", 1.0)
                                                                  : scheduler_config_->get_float("flow_shift", 1.0);
  if (p.sampler == "unipc") {
    if (cls == "UniPCMultistepScheduler") return sampling::Scheduler::from_config(*scheduler_config_, p.shift);
    sampling::UniPCConfig c;
    c.flow_shift = shift;
    return std::make_unique<sampling::FlowUniPC>(c);
  }
  return std::make_unique<sampling::FlowMatchEuler>(1000, shift);
}

// The stages of generate(), each a function of what the previous one produced.

// 1. Prompt embeddings ([uncond, cond] with guidance), on ctx's device; the mask stays on the host.
PromptEmbeds SanaVideoPipeline::encode_prompts(Context& ctx, const GenerateParams& p) const {
  std::unique_ptr<Context> host_owned;  // small host-side tensors are assembled on a host context
  if (ctx.device() != Device::CPU) host_owned = std::make_unique<Context>(Device::CPU, ctx.threads());
  Context& host = host_owned ? *host_owned : ctx;
  PromptEncoder pe(*tokenizer_, *text_encoder_);
  const std::string prompt = p.motion_score >= 0 ? with_motion_score(p.prompt, p.motion_score) : p.prompt;
  const std::vector<std::string> none;
  const auto& chi = p.chi == Chi::Official ? official_chi() : p.chi == Chi::None ? none : diffusers_chi();
  PromptEmbeds pos;
  if (p.prompt_embeds.defined()) {  // shapes checked by validate()
    pos = {p.prompt_embeds.to(DType::F32), p.prompt_mask.to(DType::F32)};
  } else {
    pos = pe.encode(ctx, {prompt}, chi, p.max_sequence_length);
  }
  PromptEmbeds out = pos;
  if (p.guidance_scale > 1.0) {
    PromptEmbeds neg;
    if (p.negative_embeds.defined()) {
      neg = {p.negative_embeds.to(DType::F32), p.negative_mask.to(DType::F32)};
    } else {
      neg = pe.encode_negative(ctx, {p.negative_prompt}, p.max_sequence_length);
    }
    SV_CHECK(neg.embeds.size(1) == pos.embeds.size(1), "positive and negative embeddings differ in length (",
             pos.embeds.size(1), " vs ", neg.embeds.size(1), ")");
    out.embeds = ops::cat(host, {neg.embeds, pos.embeds}, 0);
    out.mask = ops::cat(host, {neg.mask.to(DType::F32), pos.mask.to(DType::F32)}, 0);
  }
  out.embeds = ctx.to_device(out.embeds);
  return out;
}

// 2. Starting latents: torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)) or the
// caller's; for image-to-video the encoded, normalised first frame replaces latent frame 0.
Tensor SanaVideoPipeline::prepare_latents(Context& ctx, const GenerateParams& p) const {
  const VideoVae::Info& vi = vae_->info();
  const Shape shape{1, vi.latent_channels, (p.frames - 1) / vi.temporal_factor + 1, p.height / vi.spatial_factor,
                    p.width / vi.spatial_factor};
  Tensor latents = p.initial_latents.defined() ? p.initial_latents.to(DType::F32)  // shape checked by validate()
                                               : TorchGenerator(p.seed).randn(shape);
  if (p.has_image()) {
    const io::Image img = io::resize_lanczos(p.image_path.empty() ? p.image : io::read_image(p.image_path), p.width, p.height);
    const Tensor video = io::image_to_tensor(img).unsqueeze(2);  // [1, 3, 1, H, W]
    Tensor lat0 = vae_->encode_mean(ctx, video, p.vae_tiling);   // posterior mode [1, C, 1, h, w]
    normalise_latents_(ctx, *vae_, lat0);
    latents = ops::cat(ctx, {lat0, ctx.to_device(latents.narrow(2, 1, latents.size(2) - 1))}, 2);
  }
  return ctx.to_device(latents);
}

// 3. The sampler loop with classifier-free guidance. Image-to-video keeps latent frame 0 fixed and its
// tokens see timestep 0. Returns undefined when cancelled.
Tensor SanaVideoPipeline::denoise(Context& ctx, const GenerateParams& p, const PromptEmbeds& embeds, Tensor latents,
                                  const GenerateCallbacks& cb) const {
  const bool cfg = p.guidance_scale > 1.0, i2v = p.has_image();
  Tensor token_t;  // [1, 1, F', H', W'] per-token timestep multipliers (1 - mask: 0 on frame 0)
  if (i2v) {
    const auto& ps = transformer_->config().patch_size;
    const int64_t Fp = latents.size(2) / ps[0], Hp = latents.size(3) / ps[1], Wp = latents.size(4) / ps[2];
    token_t = Tensor::empty({1, 1, Fp, Hp, Wp});
    for (int64_t k = 0; k < token_t.numel(); ++k) token_t.f32()[k] = k < Hp * Wp ? 0.0f : 1.0f;
  }
  auto sched = make_scheduler(p);
  sched->set_timesteps(p.steps);
  const auto& ts = sched->timesteps();
  const int total = static_cast<int>(ts.size());
  if (cb.progress) cb.progress("denoise", 0, total);
  for (int i = 0; i < total; ++i) {
    if (cb.cancelled && cb.cancelled()) return Tensor();
    sana_dit::Inputs in;
    in.hidden_states = cfg ? ops::cat(ctx, {latents, latents}, 0) : latents;
    in.encoder_hidden_states = embeds.embeds;
    in.encoder_attention_mask = embeds.mask;
    if (i2v) {
      // t.expand(mask.shape) * (1 - mask), duplicated for the [uncond, cond] batch.
      Tensor tt = Tensor::empty({cfg ? 2 : 1, 1, token_t.size(2), token_t.size(3), token_t.size(4)});
      const int64_t n = token_t.numel();
      for (int64_t b = 0; b < tt.size(0); ++b)
        for (int64_t k = 0; k < n; ++k) tt.f32()[b * n + k] = ts[i] * token_t.f32()[k];
      in.timestep = tt;
    } else {
      in.timestep = Tensor::from_vector(std::vector<float>(cfg ? 2 : 1, ts[i]), {cfg ? 2 : 1});
    }
    Tensor v = transformer_->forward(ctx, in);
    if (cfg) v = ops::cfg_combine(ctx, v, static_cast<float>(p.guidance_scale));  // uncond + g * (text - uncond)
    if (i2v) {
      const int64_t T = latents.size(2);
      const Tensor rest = sched->step(ctx, v.narrow(2, 1, T - 1).contiguous(), i, latents.narrow(2, 1, T - 1).contiguous());
      latents = ops::cat(ctx, {latents.narrow(2, 0, 1).contiguous(), rest}, 2);
    } else {
      latents = sched->step(ctx, v, i, latents);
    }
    if (cb.on_step) cb.on_step(i + 1, total, ts[i]);
    if (cb.progress) cb.progress("denoise", i + 1, total);
  }
  return latents;
}

int64_t SanaVideoPipeline::size_multiple() const {
  const auto& ps = transformer_->config().patch_size;
  return vae_->info().spatial_factor * std::max(ps[1], ps[2]);
}

GenerateResult SanaVideoPipeline::generate(Context& ctx, const GenerateParams& p, const GenerateCallbacks& cb) const {
  if (p.resolution_binning) {
    validate(p);
    GenerateParams q = p;
    q.resolution_binning = false;
    std::tie(q.height, q.width) = classify_height_width_bin(p.height, p.width, transformer_->config().sample_size);
    GenerateCallbacks c2 = cb;
    if (cb.on_frames)
      c2.on_frames = [&](const Tensor& f) {
        cb.on_frames(resize_and_crop_frames(f.select(0, 0), p.width, p.height).unsqueeze(0));
      };
    return generate(ctx, q, c2);
  }
  validate(p);
  check_fits(ctx, p, static_cast<bool>(cb.on_frames));  // refuse before any work what cannot fit
  PromptEmbeds embeds;
  return run_stages(
      ctx, cb,
      [&] {
        embeds = encode_prompts(ctx, p);
        return prepare_latents(ctx, p);
      },
      [&](const Tensor& latents) { return denoise(ctx, p, embeds, latents, cb); }, *vae_, p.vae_tiling);
}

}  // namespace sv::pipeline
