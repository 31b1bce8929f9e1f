#include "pipeline/sana_video_pipeline.h"

#include <chrono>
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
  pl->vae_ = wan_vae::AutoencoderKLWan::load(part("vae", {"AutoencoderKLWan"}), place);
  const std::string sched =
      part("scheduler", {"DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler", "UniPCMultistepScheduler"});
  pl->scheduler_config_ = std::make_unique<io::JsonConfig>(io::JsonConfig::load(sched + "/scheduler_config.json"));
  const fs::path long_sched = fs::path(dir) / "longsana" / "scheduler" / "scheduler_config.json";
  if (fs::exists(long_sched))
    pl->long_scheduler_config_ = std::make_unique<io::JsonConfig>(io::JsonConfig::load(long_sched.string()));
  SV_CHECK(pl->transformer_->config().in_channels == pl->vae_->config().z_dim, dir, ": transformer in_channels ",
           pl->transformer_->config().in_channels, " != vae z_dim ", pl->vae_->config().z_dim);
  SV_CHECK(pl->transformer_->config().caption_channels == pl->text_encoder_->config().hidden_size, dir,
           ": transformer caption_channels ", pl->transformer_->config().caption_channels, " != text encoder width ",
           pl->text_encoder_->config().hidden_size);
  const auto& vc = pl->vae_->config();
  SV_CHECK(static_cast<int64_t>(vc.latents_mean.size()) == vc.z_dim && static_cast<int64_t>(vc.latents_std.size()) == vc.z_dim,
           dir, "/vae/config.json: latents_mean and latents_std need z_dim = ", vc.z_dim, " entries");
  // The pipeline sizes latents with the config's scale factors (as diffusers does); they must agree with
  // the architecture or the decoder would hand back frames of another size.
  int64_t spatial = 1, temporal = 1;
  for (size_t i = 0; i + 1 < vc.dim_mult.size(); ++i) spatial *= 2;
  for (bool t : vc.temperal_downsample) temporal *= t ? 2 : 1;
  SV_CHECK(vc.scale_factor_spatial == spatial && vc.scale_factor_temporal == temporal, dir,
           "/vae/config.json: scale_factor_spatial ", vc.scale_factor_spatial, " and scale_factor_temporal ",
           vc.scale_factor_temporal, " do not match the architecture (", spatial, "x spatial, ", temporal,
           "x temporal from dim_mult and temperal_downsample)");
  return pl;
}

void SanaVideoPipeline::validate(const GenerateParams& p_in) const {
  GenerateParams p = p_in;
  if (p.resolution_binning) {
    SV_CHECK(p.height > 0 && p.width > 0, "height and width must be positive");
    std::tie(p.height, p.width) = classify_height_width_bin(p.height, p.width, transformer_->config().sample_size);
  }
  const auto& vc = vae_->config();
  const auto& tc = transformer_->config();
  const int64_t fh = vc.scale_factor_spatial * tc.patch_size[1], fw = vc.scale_factor_spatial * tc.patch_size[2];
  const int64_t ft = vc.scale_factor_temporal;
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
  SV_CHECK(!p.has_image() || p.frames > vc.scale_factor_temporal, "image-to-video needs more than one latent frame (frames >= ",
           vc.scale_factor_temporal + 1, ")");
  // Caller-supplied tensors, checked here so that a wrong shape is the caller's error before any work.
  if (p.initial_latents.defined()) {
    const Shape shape{1, vc.z_dim, (p.frames - 1) / ft + 1, p.height / vc.scale_factor_spatial,
                      p.width / vc.scale_factor_spatial};
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

void SanaVideoPipeline::check_fits(const Context& ctx, const GenerateParams& p, bool decode) const {
  int height = p.height, width = p.width;
  if (p.resolution_binning)
    std::tie(height, width) = classify_height_width_bin(p.height, p.width, transformer_->config().sample_size);
  check_fits_at(ctx, height, width, (p.frames - 1) / vae_->config().scale_factor_temporal + 1,
                p.guidance_scale > 1.0 ? 2 : 1, decode);
}

void SanaVideoPipeline::check_fits_at(const Context& ctx, int height, int width, int64_t latent_frames, int batch,
                                      bool decode) const {
  const auto& vc = vae_->config();
  const int64_t h = height / vc.scale_factor_spatial, w = width / vc.scale_factor_spatial;
  const size_t have = ctx.available_bytes();
  const size_t dit = transformer_->forward_bytes_lower_bound(batch, latent_frames, h, w);
  SV_CHECK(dit <= have, width, " x ", height, " with ", latent_frames, " latent frames", batch > 1 ? " (CFG batch 2)" : "",
           " needs at least ", dit >> 20, " MiB of ", ctx.memory_name(), " for the transformer, ", have >> 20,
           " MiB are available");
  if (decode) vae_->check_decode_fits(ctx, h, w);
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
  using clock = std::chrono::steady_clock;
  GenerateResult r;
  // Refuse before any work when the transformer or the streamed decode cannot fit.
  check_fits(ctx, p, static_cast<bool>(cb.on_frames));
  // Small host-side tensors (prompt embeddings, masks) are assembled on a host context.
  std::unique_ptr<Context> host_owned;
  if (ctx.device() != Device::CPU) host_owned = std::make_unique<Context>(Device::CPU, ctx.threads());
  Context& host = host_owned ? *host_owned : ctx;
  auto cancelled = [&] { return cb.cancelled && cb.cancelled(); };
  const bool cfg = p.guidance_scale > 1.0;

  // 1. Prompt embeddings ([uncond, cond] with guidance).
  auto t0 = clock::now();
  if (cb.progress) cb.progress("encode", 0, 1);
  PromptEncoder pe(*tokenizer_, *text_encoder_);
  const std::string prompt = p.motion_score >= 0 ? with_motion_score(p.prompt, p.motion_score) : p.prompt;
  const std::vector<std::string> none;
  const auto& chi = p.chi == Chi::Diffusers ? diffusers_chi() : p.chi == Chi::Official ? official_chi() : none;
  PromptEmbeds pos;
  if (p.prompt_embeds.defined()) {  // shapes checked by validate()
    pos = {p.prompt_embeds.to(DType::F32), p.prompt_mask.to(DType::F32)};
  } else {
    pos = pe.encode(ctx, {prompt}, chi, p.max_sequence_length);
  }
  Tensor embeds = pos.embeds, mask = pos.mask;
  if (cfg) {
    PromptEmbeds neg;
    if (p.negative_embeds.defined()) {
      neg = {p.negative_embeds.to(DType::F32), p.negative_mask.to(DType::F32)};
    } else {
      neg = pe.encode_negative(ctx, {p.negative_prompt}, p.max_sequence_length);
    }
    SV_CHECK(neg.embeds.size(1) == pos.embeds.size(1), "positive and negative embeddings differ in length (",
             pos.embeds.size(1), " vs ", neg.embeds.size(1), ")");
    embeds = ops::cat(host, {neg.embeds, pos.embeds}, 0);
    mask = ops::cat(host, {neg.mask.to(DType::F32), pos.mask.to(DType::F32)}, 0);
  }
  embeds = ctx.to_device(embeds);
  if (cb.progress) cb.progress("encode", 1, 1);
  r.seconds_encode = std::chrono::duration<double>(clock::now() - t0).count();

  // 2. Noise: torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)).
  const auto& vc = vae_->config();
  const Shape shape{1, vc.z_dim, (p.frames - 1) / vc.scale_factor_temporal + 1, p.height / vc.scale_factor_spatial,
                    p.width / vc.scale_factor_spatial};
  Tensor latents;
  if (p.initial_latents.defined()) {  // shape checked by validate()
    latents = p.initial_latents.to(DType::F32);
  } else {
    latents = TorchGenerator(p.seed).randn(shape);
  }

  // Image-to-video: the encoded, normalised first frame replaces latent frame 0 and is never updated;
  // its tokens see timestep 0.
  const bool i2v = p.has_image();
  Tensor token_t;  // [B, 1, F', H', W'] per-token timestep multipliers (0 on frame 0)
  if (i2v) {
    const io::Image img = io::resize_lanczos(p.image_path.empty() ? p.image : io::read_image(p.image_path), p.width, p.height);
    const Tensor video = io::image_to_tensor(img).unsqueeze(2);  // [1, 3, 1, H, W]
    const Tensor moments = vae_->encode(ctx, video);
    Tensor lat0 = moments.narrow(1, 0, vc.z_dim).clone();  // posterior mean [1, z, 1, h, w]
    normalise_latents_(ctx, vc, lat0);
    latents = ops::cat(ctx, {lat0, ctx.to_device(latents.narrow(2, 1, latents.size(2) - 1))}, 2);
    const auto& ps = transformer_->config().patch_size;
    const int64_t Fp = shape[2] / ps[0], Hp = shape[3] / ps[1], Wp = shape[4] / ps[2];
    token_t = Tensor::empty({1, 1, Fp, Hp, Wp});
    for (int64_t k = 0; k < token_t.numel(); ++k) token_t.f32()[k] = k < Hp * Wp ? 0.0f : 1.0f;  // (1 - mask)
  }

  // 3. Denoise, on the transformer's device.
  latents = ctx.to_device(latents);
  t0 = clock::now();
  auto sched = make_scheduler(p);
  sched->set_timesteps(p.steps);
  const auto& ts = sched->timesteps();
  if (cb.progress) cb.progress("denoise", 0, static_cast<int>(ts.size()));
  for (int i = 0; i < static_cast<int>(ts.size()); ++i) {
    if (cancelled()) {
      r.cancelled = true;
      return r;
    }
    sana_dit::Inputs in;
    in.hidden_states = cfg ? ops::cat(ctx, {latents, latents}, 0) : latents;
    in.encoder_hidden_states = embeds;
    in.encoder_attention_mask = mask;
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
    if (cb.on_step) cb.on_step(i + 1, static_cast<int>(ts.size()), ts[i]);
    if (cb.progress) cb.progress("denoise", i + 1, static_cast<int>(ts.size()));
  }
  r.latents = latents.to_host();
  r.seconds_denoise = std::chrono::duration<double>(clock::now() - t0).count();

  // 4. Decode: latents / (1 / std) + mean, then the VAE, frame chunk by frame chunk.
  if (cb.on_frames) {
    t0 = clock::now();
    const Tensor z = denormalise_latents(ctx, vc, latents);
    wan_vae::AutoencoderKLWan::DecodeSession dec(*vae_);
    const int64_t T = z.size(2);
    if (cb.progress) cb.progress("decode", 0, static_cast<int>(T));
    for (int64_t t = 0; t < T; ++t) {
      if (cancelled()) {
        r.cancelled = true;
        return r;
      }
      cb.on_frames(dec.push(ctx, z.narrow(2, t, 1).contiguous()).to_host());  // only finished frames cross
      if (cb.progress) cb.progress("decode", static_cast<int>(t + 1), static_cast<int>(T));
    }
    r.seconds_decode = std::chrono::duration<double>(clock::now() - t0).count();
  }
  return r;
}

}  // namespace sv::pipeline
