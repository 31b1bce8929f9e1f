#include "pipeline/long_video.h"

#include <chrono>
#include <cmath>
#include <fstream>

#include "core/rng.h"
#include "ops/ops.h"
#include "pipeline/latents.h"

namespace sv::pipeline {
namespace {

// Pixel frame -> the latent frame that holds it (frame 0 alone, then groups of `ft`).
int64_t latent_of_pixel(int64_t frame, int64_t ft) { return frame <= 0 ? 0 : (frame - 1) / ft + 1; }

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

PromptSegment parse_prompt_at(const std::string& spec) {
  const size_t colon = spec.find(':');
  SV_CHECK(colon != std::string::npos, "prompt schedule entry '", spec, "' must be SECONDS:PROMPT");
  const std::string num = trim(spec.substr(0, colon));
  char* end = nullptr;
  const double t = std::strtod(num.c_str(), &end);
  SV_CHECK(!num.empty() && end && *end == '\0' && std::isfinite(t) && t >= 0, "prompt schedule entry '", spec,
           "': '", num, "' is not a time in seconds >= 0");
  const std::string prompt = trim(spec.substr(colon + 1));
  SV_CHECK(!prompt.empty(), "prompt schedule entry '", spec, "' has no prompt");
  return {t, prompt};
}

std::vector<PromptSegment> read_prompt_schedule(const std::string& path) {
  std::ifstream f(path);
  SV_CHECK(f, path, ": cannot read the prompt schedule");
  std::vector<PromptSegment> out;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::string spec = t;
    const size_t sep = t.find_first_of(" \t:");
    if (sep != std::string::npos && t[sep] != ':') spec = t.substr(0, sep) + ":" + t.substr(sep + 1);
    try {
      out.push_back(parse_prompt_at(spec));
    } catch (const Error& e) {
      SV_THROW(path, ":", n, ": ", e.what());
    }
  }
  SV_CHECK(!out.empty(), path, ": the prompt schedule is empty");
  return out;
}

sampling::LongLiveSchedule long_schedule_for(const SanaVideoPipeline& pipe) {
  sampling::LongLiveSchedule s;
  if (const io::JsonConfig* c = pipe.long_scheduler_config()) {
    if (c->has("shift")) s.shift = c->get_float("shift");
    else if (c->has("flow_shift")) s.shift = c->get_float("flow_shift");
    if (c->has("denoising_step_list")) {
      s.steps.clear();
      for (int64_t t : c->get_int_list("denoising_step_list"))
        if (t > 0) s.steps.push_back(static_cast<int>(t));  // the trailing 0 is the context pass
    }
    SV_CHECK(s.shift > 0 && !s.steps.empty(), c->origin(), ": needs a positive shift and a non-empty step list");
    for (size_t i = 0; i < s.steps.size(); ++i)
      SV_CHECK(s.steps[i] <= 1000 && (i == 0 || s.steps[i] < s.steps[i - 1]), c->origin(),
               ": denoising_step_list must descend within (0, 1000]");
  }
  return s;
}

LongPlan plan_long(const SanaVideoPipeline& pipe, const LongGenerateParams& p) {
  const auto& tc = pipe.transformer().config();
  const int64_t ft = pipe.vae().info().temporal_factor;
  SV_CHECK(!p.prompts.empty(), "long video generation needs a prompt");
  SV_CHECK(p.frames > 0 && (p.frames - 1) % ft == 0, "frames ", p.frames, " is not ", ft, "k + 1");
  SV_CHECK(p.fps > 0, "fps must be positive, got ", p.fps);
  SV_CHECK(p.block_frames > 0 && p.block_frames % tc.patch_size[0] == 0, "block size ", p.block_frames,
           " latent frames must be a positive multiple of the temporal patch ", tc.patch_size[0]);
  SV_CHECK(p.window_blocks >= 0, "the attention window must be >= 0 blocks (0 = all)");
  GenerateParams g;
  g.height = p.height, g.width = p.width, g.frames = 1;
  pipe.validate(g);  // spatial sizes, with the nearest valid ones in the message

  LongPlan plan;
  plan.latent_frames = latent_of_pixel(p.frames - 1, ft) + 1;
  const int64_t max_latent = tc.rope_max_seq_len * tc.patch_size[0];
  const int64_t max_frames = (max_latent - 1) * ft + 1;
  SV_CHECK(plan.latent_frames <= max_latent, p.frames, " frames (", plan.latent_frames,
           " latent frames) exceed the rotary table of ", max_latent, " latent frames: at most ", max_frames,
           " frames (", static_cast<double>(max_frames) / p.fps, " s at ", p.fps, " fps)");
  plan.block_starts = sampling::longlive_block_starts(plan.latent_frames, p.block_frames);
  for (int64_t s : plan.block_starts)
    SV_CHECK(s % tc.patch_size[0] == 0, "block start ", s, " is not a multiple of the temporal patch ",
             tc.patch_size[0], "; choose a block size whose remainder fits");

  // Prompt segments: strictly ascending times, the first at 0; each takes effect at the first block
  // that starts at or after its time, and no two may land on the same block.
  SV_CHECK(p.prompts[0].start_seconds == 0, "the prompt schedule must start at 0 s, its first entry is at ",
           p.prompts[0].start_seconds, " s");
  const double seconds = static_cast<double>(p.frames) / p.fps;
  std::vector<int64_t> first_block(p.prompts.size(), 0);
  for (size_t i = 1; i < p.prompts.size(); ++i) {
    const double t = p.prompts[i].start_seconds, prev = p.prompts[i - 1].start_seconds;
    SV_CHECK(t > prev, "prompt schedule times must increase: ", t, " s comes after ", prev, " s");
    SV_CHECK(t < seconds, "prompt schedule entry at ", t, " s starts after the video ends (", seconds, " s)");
    const int64_t lat = latent_of_pixel(static_cast<int64_t>(std::llround(t * p.fps)), ft);
    int64_t b = 0;
    while (b < static_cast<int64_t>(plan.block_starts.size()) && plan.block_starts[b] < lat) ++b;
    SV_CHECK(b < static_cast<int64_t>(plan.block_starts.size()), "prompt schedule entry at ", t,
             " s falls after the last block starts; move it earlier");
    SV_CHECK(b > first_block[i - 1], "prompt schedule entries at ", prev, " s and ", t,
             " s overlap: both take effect at block ", b, " (blocks are ",
             static_cast<double>(p.block_frames * ft) / p.fps, " s long)");
    first_block[i] = b;
  }
  plan.block_prompt.assign(plan.block_starts.size(), 0);
  for (size_t i = 0; i < p.prompts.size(); ++i)
    for (size_t b = static_cast<size_t>(first_block[i]); b < plan.block_starts.size(); ++b) plan.block_prompt[b] = i;
  return plan;
}

void check_long_fits(const Context& ctx, const SanaVideoPipeline& pipe, const LongGenerateParams& p, bool decode) {
  // A block (and the state's context pass over it) is what one forward sees.
  const int64_t latent_frames = latent_of_pixel(p.frames - 1, pipe.vae().info().temporal_factor) + 1;
  check_memory_fits(ctx, pipe.estimate_memory_at(p.height, p.width, std::min<int64_t>(p.block_frames, latent_frames), 1, decode));
}

double block_start_seconds(const LongPlan& plan, size_t b, int fps, int64_t ft) {
  const int64_t lat = plan.block_starts.at(b);
  return lat <= 0 ? 0.0 : static_cast<double>((lat - 1) * ft + 1) / fps;
}

GenerateResult generate_long(Context& ctx, const SanaVideoPipeline& pipe, const LongGenerateParams& p,
                             const GenerateCallbacks& cb) {
  using clock = std::chrono::steady_clock;
  const LongPlan plan = plan_long(pipe, p);
  const VideoVae::Info& vi = pipe.vae().info();
  const auto& tr = pipe.transformer();
  const auto& sched = p.schedule;
  SV_CHECK(!sched.steps.empty(), "the LongSANA schedule has no steps");
  GenerateResult r;
  auto cancelled = [&] { return cb.cancelled && cb.cancelled(); };
  const int nblocks = static_cast<int>(plan.block_starts.size());
  std::vector<size_t> block_prompt = plan.block_prompt;  // index into embeds; grows with live changes

  check_long_fits(ctx, pipe, p, static_cast<bool>(cb.on_frames));
  // 1. One embedding per distinct prompt (CFG is off in LongSANA: no negative pass).
  auto t0 = clock::now();
  if (cb.progress) cb.progress("encode", 0, static_cast<int>(p.prompts.size()));
  PromptEncoder pe(pipe.tokenizer(), pipe.text_encoder());
  const std::vector<std::string> none;
  const auto& chi = p.chi == Chi::Official ? official_chi() : p.chi == Chi::None ? none : diffusers_chi();
  // Scheduled prompts now, live changes (cb.next_prompt) when they come: embeddings on the device.
  auto embed = [&](const std::string& text) {
    PromptEmbeds e = pe.encode(ctx, {p.motion_score >= 0 ? with_motion_score(text, p.motion_score) : text}, chi,
                               p.max_sequence_length);
    e.embeds = ctx.to_device(e.embeds);
    return e;
  };
  std::vector<PromptEmbeds> embeds;
  for (size_t i = 0; i < p.prompts.size(); ++i) {
    embeds.push_back(embed(p.prompts[i].prompt));
    if (cb.progress) cb.progress("encode", static_cast<int>(i + 1), static_cast<int>(p.prompts.size()));
  }
  r.seconds_encode = std::chrono::duration<double>(clock::now() - t0).count();

  // 2. Blocks. Noise is drawn block by block from one seeded generator (the block's start noise, then
  // the re-noise of each step), so nothing of the whole video's size is ever allocated.
  TorchGenerator gen(p.seed);
  const int64_t h = p.height / vi.spatial_factor, w = p.width / vi.spatial_factor;
  sana_dit::CausalState state(p.window_blocks);
  auto dec = pipe.vae().decode_stream();
  auto inputs = [&](const Tensor& x, double t, size_t prompt) {
    sana_dit::Inputs in;
    in.hidden_states = x;
    in.encoder_hidden_states = embeds[prompt].embeds;  // uploaded once below
    in.encoder_attention_mask = embeds[prompt].mask;
    in.timestep = Tensor::from_vector({static_cast<float>(t)}, {1});
    return in;
  };
  // The previous block's clean latents and the state it was written against, kept for a prompt
  // switch's re-encode (copies share storage: the state's tensors are never modified in place).
  Tensor prev_clean;
  sana_dit::CausalState state_before_prev(p.window_blocks);
  if (cb.progress) cb.progress("block", 0, nblocks);
  for (int c = 0; c < nblocks; ++c) {
    if (cancelled()) {
      r.cancelled = true;
      return r;
    }
    const auto tb = clock::now();
    const int64_t s = plan.block_starts[static_cast<size_t>(c)];
    const int64_t e = c + 1 < nblocks ? plan.block_starts[static_cast<size_t>(c + 1)] : plan.latent_frames;
    if (c > 0 && cb.next_prompt) {
      const std::string text = cb.next_prompt(c, block_start_seconds(plan, static_cast<size_t>(c), p.fps, vi.temporal_factor));
      if (!text.empty()) {  // a change made while the video is being generated: from this block on
        embeds.push_back(embed(text));
        // Until the schedule's own next change, as an entry at this block would.
        const size_t scheduled = plan.block_prompt[static_cast<size_t>(c)];
        for (size_t b = static_cast<size_t>(c); b < block_prompt.size() && plan.block_prompt[b] == scheduled; ++b)
          block_prompt[b] = embeds.size() - 1;
      }
    }
    const size_t prompt = block_prompt[static_cast<size_t>(c)];
    if (c > 0 && p.recache_on_switch && prompt != block_prompt[static_cast<size_t>(c - 1)]) {
      // LongLive "recache": the previous block's contribution, re-encoded under the new prompt, replaces
      // the old one before this block is generated. It reads the state as it was before that block.
      state.replace_last(ctx, tr.context_block(ctx, inputs(prev_clean, 0.0, prompt), plan.block_starts[c - 1],
                                               state_before_prev));
    }
    Tensor x = ctx.to_device(gen.randn({1, vi.latent_channels, e - s, h, w}));
    Tensor x0;
    for (size_t i = 0; i < sched.steps.size(); ++i) {
      const double tm = sched.model_timestep(sched.steps[i]);
      const Tensor v = tr.forward_block(ctx, inputs(x, tm, prompt), s, state);
      // x0 = x - sigma * v in float64, cast back, as the reference.
      x0 = ops::flow_x0(ctx, x, v, sched.sigma(tm));
      if (i + 1 < sched.steps.size()) {
        const double sn = sched.sigma(sched.steps[i + 1]);  // re-noise with the exact integer timestep
        x = ops::flow_renoise(ctx, x0, ctx.to_device(gen.randn(x.shape())), sn);
      }
      if (cancelled()) {
        r.cancelled = true;
        return r;
      }
    }
    r.seconds_denoise += std::chrono::duration<double>(clock::now() - tb).count();
    // The clean block writes its contribution to the state (timestep 0, same prompt).
    const auto tc0 = clock::now();
    state_before_prev = state;
    state.push(ctx, tr.context_block(ctx, inputs(x0, 0.0, prompt), s, state));
    prev_clean = x0;
    r.seconds_denoise += std::chrono::duration<double>(clock::now() - tc0).count();
    // Decode at once; the VAE's stream state carries across blocks (a non-causal decoder hands frames
    // over as their lookahead arrives, the rest at the last block).
    const auto td = clock::now();
    if (cb.on_frames) {
      const Tensor z = denormalise_latents(ctx, pipe.vae(), x0);
      for (int64_t t = 0; t < z.size(2); ++t) {
        dec->push(ctx, z.narrow(2, t, 1).contiguous(), c + 1 == nblocks && t + 1 == z.size(2),
                  [&](const Tensor& f) { cb.on_frames(f.to_host()); });
      }
    }
    r.seconds_decode += std::chrono::duration<double>(clock::now() - td).count();
    if (cb.progress) cb.progress("block", c + 1, nblocks);
  }
  r.latents = prev_clean.to_host();  // the last block's latents
  return r;
}

}  // namespace sv::pipeline
