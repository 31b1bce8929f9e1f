// sv-bench: times one component's forward on a model directory + inputs file and prints one JSON
// line (median_s, all_s, peak_rss_mib), the same fields as the diffusers baseline script.
//   sv-bench dit    --model DIR --inputs IN   (SanaVideoTransformer3DModel)
//   sv-bench sv2    --model DIR --inputs IN   (SANA-Video 2.0 transformer, a converted transformer/ folder)
//   sv-bench gemma2 --model DIR --inputs IN   (Gemma2Model on input_ids [, attention_mask])
//   sv-bench vae-decode --model DIR --inputs IN [--stream 1] [--tile PX --tile-stride PX]   (the VAE's
//     decode, Wan or LTX-2; streamed frames are converted to RGB bytes and dropped, as a video writer would
//     consume them; --tile: diffusers' spatial tiling, LTX-2 only)
//   sv-bench long --model PIPELINE_DIR --seconds S [--width --height --fps 16]   (LongSANA block-wise
//     video; frames converted to RGB bytes and dropped; prints frames/s and the peak memory)
//   sv-bench memory --model PIPELINE_DIR --width --height --frames [--cfg --steps]   (one text-to-video job
//     run twice; the second run's peak resident memory per stage, beyond the loaded weights, against the
//     pipeline's MemoryEstimate: the calibration of the checks that refuse jobs too big for the machine;
//     --check R exits 1 unless measured <= estimate <= R x measured + 64 MiB for both stages)
//   sv-bench sgemm --size N   (one N x N x N fp32 GEMM through the engine's CPU GEMM path: the machine's
//     SGEMM peak the DiT's achieved GFLOP/s is compared with; adds "gflops")
//   --device cuda[:N] --dtype bf16|fp32: dit / gemma2 / vae-decode on the GPU (inputs uploaded once, each timed run
//     ends with a stream synchronisation; peak_gpu_mib is the caching allocator's high-water mark).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/host_memory.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "models/gemma2/gemma2.h"
#include "models/video_vae.h"
#include "pipeline/long_video.h"
#include "pipeline/sana_video_pipeline.h"
#include "models/sana_dit/sana_dit.h"
#include "models/sana_video2/transformer.h"
#include "ops/cpu/blas.h"

namespace {

// Frames [B, 3, n, H, W] converted to RGB bytes and dropped, as a video writer would consume them.
void to_rgb_like_a_writer(const sv::Tensor& f) {
  for (int64_t b = 0; b < f.size(0); ++b)
    for (int64_t i = 0; i < f.size(2); ++i) (void)sv::io::frame_to_rgb24(f.select(0, b), i);
}

// VmHWM, not ru_maxrss: the latter survives exec and would report a forking parent's peak.
double peak_rss_mib() { return static_cast<double>(sv::host_peak_rss_bytes()) / (1 << 20); }

// The GPU fields of a result line (device, compute dtype, allocator high-water mark), then its end.
void print_device_and_close(const sv::Context& ctx, const std::string& dtype) {
  if (ctx.runtime())
    std::printf(", \"device\": \"%s\", \"dtype\": \"%s\", \"peak_gpu_mib\": %.1f", ctx.runtime()->name().c_str(),
                dtype.c_str(), static_cast<double>(ctx.runtime()->peak_bytes()) / (1 << 20));
  std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model, inputs;
    int iters = 5, warmup = 1, threads = 0;
    std::string device = "cpu", dtype = "fp32";
    SV_CHECK(argc >= 2, "usage: sv-bench dit|gemma2 --model DIR --inputs IN.safetensors [--iters 5] [--warmup 1] [--threads N]");
    const std::string mode = argv[1];
    SV_CHECK(mode == "dit" || mode == "sv2" || mode == "gemma2" || mode == "vae-decode" || mode == "pipeline" ||
                 mode == "long" || mode == "sgemm" || mode == "memory",
             "unknown mode '", mode, "' (dit, sv2, gemma2, vae-decode, pipeline, long, sgemm, memory)");
    double seconds = 10;
    int fps = 16;
    sv::pipeline::GenerateParams gp;
    int stream = 1;
    int64_t size = 4096;
    double check = 0;
    sv::VaeTiling tiling;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string k = argv[i], v = argv[i + 1];
      if (k == "--model") model = v;
      else if (k == "--inputs") inputs = v;
      else if (k == "--iters") iters = std::stoi(v);
      else if (k == "--warmup") warmup = std::stoi(v);
      else if (k == "--threads") threads = std::stoi(v);
      else if (k == "--stream") stream = std::stoi(v);
      else if (k == "--tile") tiling.enabled = true, tiling.tile_height = tiling.tile_width = std::stoi(v);
      else if (k == "--tile-stride") tiling.stride_height = tiling.stride_width = std::stoi(v);
      else if (k == "--device") device = v;
      else if (k == "--dtype") dtype = v;
      else if (k == "--prompt") gp.prompt = v;
      else if (k == "--width") gp.width = std::stoi(v);
      else if (k == "--height") gp.height = std::stoi(v);
      else if (k == "--frames") gp.frames = std::stoi(v);
      else if (k == "--steps") gp.steps = std::stoi(v);
      else if (k == "--cfg") gp.guidance_scale = std::stod(v);
      else if (k == "--seconds") seconds = std::stod(v);
      else if (k == "--fps") fps = std::stoi(v);
      else if (k == "--size") size = std::stoll(v);
      else if (k == "--check") check = std::stod(v);
      else SV_THROW("unknown option ", k);
    }
    const sv::Placement place = sv::parse_placement(device, dtype);
    sv::Context ctx(place.device, threads, place.index, place.compute);
    if (mode == "long") {
      auto pl = sv::pipeline::SanaVideoPipeline::load(model, &ctx);
      sv::pipeline::LongGenerateParams lp;
      lp.prompts = {{0.0, gp.prompt.empty() ? std::string("a red circle moving left") : gp.prompt}};
      lp.height = gp.height, lp.width = gp.width, lp.fps = fps;
      const int64_t ft = pl->vae().info().temporal_factor;
      const int64_t want = std::max<int64_t>(1, static_cast<int64_t>(seconds * fps + 0.5));
      lp.frames = (want - 1 + ft - 1) / ft * ft + 1;
      lp.schedule = sv::pipeline::long_schedule_for(*pl);
      int64_t frames = 0;
      sv::pipeline::GenerateCallbacks cb;
      cb.on_frames = [&](const sv::Tensor& f) {
        to_rgb_like_a_writer(f);
        frames += f.size(2);
      };
      if (ctx.runtime()) ctx.runtime()->reset_peak();
      const auto a = std::chrono::steady_clock::now();
      const auto r = sv::pipeline::generate_long(ctx, *pl, lp, cb);
      ctx.synchronize();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
      std::printf("{\"engine\": \"sana-video\", \"frames\": %lld, \"seconds_video\": %.3f, \"total_s\": %.6f, "
                  "\"frames_per_s\": %.3f, \"encode_s\": %.6f, \"denoise_s\": %.6f, \"decode_s\": %.6f, \"peak_rss_mib\": %.1f",
                  static_cast<long long>(frames), static_cast<double>(frames) / fps, s, frames / s, r.seconds_encode,
                  r.seconds_denoise, r.seconds_decode, peak_rss_mib());
      print_device_and_close(ctx, dtype);
      return 0;
    }
    if (mode == "pipeline") {
      // Whole text-to-video, per stage; frames are converted to RGB bytes as a writer would take them.
      // Any family: a diffusers folder or a converted SANA-Video 2.0 release.
      auto pl = sv::pipeline::VideoPipeline::load(model, &ctx);
      sv::pipeline::GenerateCallbacks cb;
      cb.on_frames = to_rgb_like_a_writer;
      std::vector<double> enc, den, dec;
      for (int i = 0; i < warmup + iters; ++i) {
        const auto r = pl->generate(ctx, gp, cb);
        if (i < warmup) continue;
        enc.push_back(r.seconds_encode), den.push_back(r.seconds_denoise), dec.push_back(r.seconds_decode);
      }
      auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
      std::printf("{\"engine\": \"sana-video\", \"encode_s\": %.6f, \"denoise_s\": %.6f, \"decode_s\": %.6f, \"total_s\": %.6f",
                  med(enc), med(den), med(dec), med(enc) + med(den) + med(dec));
      print_device_and_close(ctx, dtype);
      return 0;
    }
    if (mode == "memory") {
      // The first run touches the weights' pages and the code, so that the second run's peaks are the job's.
      SV_CHECK(!ctx.runtime(), "sv-bench memory measures host memory: run it with --device cpu");
      auto pl = sv::pipeline::VideoPipeline::load(model, &ctx);
      if (gp.prompt.empty()) gp.prompt = "a red circle moving left";
      const sv::pipeline::MemoryEstimate est = pl->estimate_memory(gp, true);
      size_t base = 0, denoise = 0, decode = 0, held_denoise = 0, held_decode = 0;
      auto* alloc = dynamic_cast<sv::CpuCachingAllocator*>(ctx.allocator().get());
      sv::pipeline::GenerateCallbacks cb;
      cb.on_frames = to_rgb_like_a_writer;
      cb.progress = [&](const char* stage, int step, int) {
        if (std::string(stage) == "encode" && step == 0) {
          SV_CHECK(sv::reset_host_peak_rss(), "this kernel refuses to reset the peak resident set");
          base = sv::host_peak_rss_bytes();
          alloc->reset_peak();
        } else if (std::string(stage) == "decode" && step == 0) {
          denoise = sv::host_peak_rss_bytes() - base;  // the cache is released before decoding starts
          held_denoise = alloc->peak_held_bytes();
          alloc->reset_peak();
          SV_CHECK(sv::reset_host_peak_rss(), "this kernel refuses to reset the peak resident set");
          base = sv::host_peak_rss_bytes();
        }
      };
      for (int i = 0; i < 2; ++i) {
        pl->generate(ctx, gp, cb);
        decode = sv::host_peak_rss_bytes() - base;
        held_decode = alloc->peak_held_bytes();
        ctx.release_cached();
      }
      auto mib = [](size_t b) { return static_cast<double>(b) / (1 << 20); };
      std::printf("{\"engine\": \"sana-video\", \"width\": %d, \"height\": %d, \"frames\": %d, \"cfg\": %.2f, "
                  "\"denoise_mib\": %.1f, \"denoise_estimate_mib\": %.1f, \"decode_mib\": %.1f, "
                  "\"decode_estimate_mib\": %.1f, \"denoise_allocator_mib\": %.1f, \"decode_allocator_mib\": %.1f, "
                  "\"peak_rss_mib\": %.1f}\n",
                  gp.width, gp.height, gp.frames, gp.guidance_scale, mib(denoise), mib(est.denoise), mib(decode),
                  mib(est.decode), mib(held_denoise), mib(held_decode), peak_rss_mib());
      if (check > 0) {
        // The fixed 64 MiB the estimates add (thread stacks, GEMM packing) dominates tiny jobs.
        auto within = [&](size_t measured, size_t estimate) {
          return measured <= estimate && estimate <= check * measured + (size_t(64) << 20);
        };
        SV_CHECK(within(denoise, est.denoise), "denoise: measured ", mib(denoise), " MiB against an estimate of ",
                 mib(est.denoise), " MiB, outside [1, ", check, "] x measured + 64 MiB");
        SV_CHECK(within(decode, est.decode), "decode: measured ", mib(decode), " MiB against an estimate of ",
                 mib(est.decode), " MiB, outside [1, ", check, "] x measured + 64 MiB");
      }
      return 0;
    }
    if (mode == "sgemm") {
      SV_CHECK(size > 0 && size <= 16384 && iters > 0, "--size must be in [1, 16384]");
      std::vector<float> a(static_cast<size_t>(size * size), 0.5f), b(a.size(), 0.25f), c(a.size(), 0.0f);
      std::vector<double> t;
      for (int i = 0; i < warmup + iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        sv::cpu::sgemm(ctx, false, true, size, size, size, 1.0f, a.data(), size, b.data(), size, 0.0f, c.data(), size);
        if (i >= warmup) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(t.begin(), t.end());
      std::printf("{\"engine\": \"sana-video\", \"threads\": %d, \"size\": %lld, \"median_s\": %.6f, \"gflops\": %.1f}\n",
                  ctx.threads(), static_cast<long long>(size), t[t.size() / 2], 2.0 * size * size * size / t[t.size() / 2] / 1e9);
      return 0;
    }
    SV_CHECK(!model.empty() && !inputs.empty() && iters > 0,
             "usage: sv-bench --model DIR --inputs IN.safetensors [--iters 5] [--warmup 1] [--threads N]");
    const auto in = sv::io::TensorSource::open(inputs);
    auto opt = [&](const char* n) { return in.has(n) ? ctx.to_device(in.get(n)) : sv::Tensor(); };
    std::function<void()> run;
    std::unique_ptr<sv::sana_dit::SanaVideoTransformer> dit;
    std::unique_ptr<sv::sana_video2::Transformer> sv2;
    std::unique_ptr<sv::gemma2::Gemma2Model> gemma;
    std::unique_ptr<sv::VideoVae> vae;
    sv::sana_dit::Inputs x;
    if (mode == "dit") {
      dit = sv::sana_dit::SanaVideoTransformer::load(model, &ctx);
      x = {ctx.to_device(in.get("hidden_states")), ctx.to_device(in.get("encoder_hidden_states")), in.get("timestep"),
           opt("encoder_attention_mask"), sv::Tensor(), {}};
      run = [&] { dit->forward(ctx, x); };
    } else if (mode == "sv2") {
      sv2 = sv::sana_video2::Transformer::load(model, &ctx);
      const sv::sana_video2::Inputs x2{ctx.to_device(in.get("hidden_states")), ctx.to_device(in.get("encoder_hidden_states")),
                                       in.get("timestep"), opt("encoder_attention_mask")};
      run = [&, x2] { sv2->forward(ctx, x2); };
    } else if (mode == "vae-decode") {
      vae = sv::VideoVae::load(model, &ctx);
      run = [&] {
        if (stream) {  // one latent frame at a time, finished frames to the host as a writer takes them
          vae->decode_streamed(
              ctx, in.get("latents"), [](const sv::Tensor& f) { to_rgb_like_a_writer(f.to_host()); }, tiling);
        } else {
          vae->decode(ctx, in.get("latents"), tiling);
        }
      };
    } else {
      gemma = sv::gemma2::Gemma2Model::load(model, &ctx);
      run = [&] { gemma->forward(ctx, in.get("input_ids"), opt("attention_mask")); };
    }
    for (int i = 0; i < warmup; ++i) run();
    ctx.synchronize();
    if (ctx.runtime()) ctx.runtime()->reset_peak();
    std::vector<double> t;
    for (int i = 0; i < iters; ++i) {
      const auto a = std::chrono::steady_clock::now();
      run();
      ctx.synchronize();
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::vector<double> s = t;
    std::sort(s.begin(), s.end());
    std::printf("{\"engine\": \"sana-video\", \"threads\": %d, \"median_s\": %.6f, \"all_s\": [", ctx.threads(), s[s.size() / 2]);
    for (size_t i = 0; i < t.size(); ++i) std::printf("%s%.6f", i ? ", " : "", t[i]);
    std::printf("], \"peak_rss_mib\": %.1f", peak_rss_mib());
    print_device_and_close(ctx, dtype);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sv-bench: error: %s\n", e.what());
    return 1;
  }
}
