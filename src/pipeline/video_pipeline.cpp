#include "pipeline/video_pipeline.h"

#include <chrono>
#include <filesystem>

#include "core/host_memory.h"
#include "io/json_config.h"
#include "pipeline/latents.h"
#include "pipeline/sana_video2_pipeline.h"
#include "pipeline/sana_video_pipeline.h"

namespace sv::pipeline {

namespace {

// Weights live where the context computes: uploaded to a GPU (at least half their file size, with bf16
// compute), or mapped from the files on the CPU and read on every step, where a model larger than the
// machine's memory would re-read the disk throughout. Either way it is refused before a byte is read.
void check_weights_fit(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  uint64_t file_bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 2) it.disable_recursion_pending();
    if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) file_bytes += it->file_size(ec);
  }
  const bool gpu = place && place->device() == Device::CUDA;
  const uint64_t need = gpu && place->compute_dtype() == DType::BF16 ? file_bytes / 2 : file_bytes;
  const uint64_t have = gpu ? place->available_bytes() : host_total_bytes();
  auto gib = [](uint64_t b) { return std::to_string(b / (uint64_t(1) << 30)) + "." + std::to_string(b % (uint64_t(1) << 30) * 10 >> 30); };
  SV_CHECK(need <= have, dir, ": the model's weights need at least ", gib(need), " GiB of ",
           gpu ? "GPU memory" : "memory", ", but ", gpu ? "the GPU has " : "this machine has ", gib(have), " GiB",
           gpu ? " free" : "");
}

}  // namespace

std::unique_ptr<VideoPipeline> VideoPipeline::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": pipeline directory not found");
  check_weights_fit(dir, place);
  const io::JsonConfig index = io::JsonConfig::load((fs::path(dir) / "model_index.json").string());
  if (index.get_string("_class_name", std::string()) == "SanaVideo2Pipeline") return SanaVideo2Pipeline::load(dir, place);
  return SanaVideoPipeline::load(dir, place);
}

void check_memory_fits(const Context& ctx, const MemoryEstimate& m) {
  const size_t have = ctx.available_bytes();
  const std::string where = std::string(ctx.memory_name()) + (ctx.runtime() ? " on " + ctx.runtime()->name() : std::string());
  SV_CHECK(m.denoise <= have, m.width, " x ", m.height, " with ", m.latent_frames, " latent frames",
           m.batch > 1 ? " (CFG batch 2)" : "", " needs about ", m.denoise >> 20, " MiB of ", where,
           " for the transformer, ", have >> 20, " MiB are available");
  SV_CHECK(m.decode <= have, "the VAE decode of ", m.width, " x ", m.height, " frames needs about ", m.decode >> 20,
           " MiB of ", where, ", ", have >> 20, " MiB are available");
}

GenerateResult run_stages(Context& ctx, const GenerateCallbacks& cb, const std::function<Tensor()>& encode,
                          const std::function<Tensor(const Tensor&)>& denoise, const VideoVae& vae,
                          const VaeTiling& tiling) {
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
  GenerateResult r;
  auto t0 = clock::now();
  if (cb.progress) cb.progress("encode", 0, 1);
  Tensor latents = encode();
  if (cb.progress) cb.progress("encode", 1, 1);
  r.seconds_encode = seconds(t0);

  t0 = clock::now();
  latents = denoise(latents);
  if (!latents.defined()) {
    r.cancelled = true;
    return r;
  }
  r.latents = latents.to_host();
  r.seconds_denoise = seconds(t0);
  ctx.release_cached();  // the memory checks count each stage alone

  if (cb.on_frames) {
    t0 = clock::now();
    r.cancelled = !decode_frames(ctx, vae, latents, tiling, cb);
    r.seconds_decode = seconds(t0);
    ctx.release_cached();  // the next job's checks see the memory this one no longer uses
  }
  return r;
}

bool decode_frames(Context& ctx, const VideoVae& vae, const Tensor& latents, const VaeTiling& tiling,
                   const GenerateCallbacks& cb) {
  const Tensor z = denormalise_latents(ctx, vae, latents);
  auto stream = vae.decode_stream(tiling);
  const int64_t T = z.size(2);
  if (cb.progress) cb.progress("decode", 0, static_cast<int>(T));
  for (int64_t t = 0; t < T; ++t) {
    if (cb.cancelled && cb.cancelled()) return false;
    stream->push(ctx, z.narrow(2, t, 1).contiguous(), t + 1 == T, [&](const Tensor& f) { cb.on_frames(f.to_host()); });
    if (cb.progress) cb.progress("decode", static_cast<int>(t + 1), static_cast<int>(T));
  }
  return true;
}

}  // namespace sv::pipeline
