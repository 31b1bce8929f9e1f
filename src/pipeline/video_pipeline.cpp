#include "pipeline/video_pipeline.h"

#include <chrono>
#include <filesystem>

#include "io/json_config.h"
#include "pipeline/latents.h"
#include "pipeline/sana_video2_pipeline.h"
#include "pipeline/sana_video_pipeline.h"

namespace sv::pipeline {

std::unique_ptr<VideoPipeline> VideoPipeline::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": pipeline directory not found");
  const io::JsonConfig index = io::JsonConfig::load((fs::path(dir) / "model_index.json").string());
  if (index.get_string("_class_name", std::string()) == "SanaVideo2Pipeline") return SanaVideo2Pipeline::load(dir, place);
  return SanaVideoPipeline::load(dir, place);
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

  if (cb.on_frames) {
    t0 = clock::now();
    r.cancelled = !decode_frames(ctx, vae, latents, tiling, cb);
    r.seconds_decode = seconds(t0);
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
