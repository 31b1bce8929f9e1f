#include "models/video_vae.h"

#include <filesystem>

#include "io/json_config.h"
#include "models/ltx2_vae/ltx2_vae.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/ops.h"

namespace sv {

std::unique_ptr<VideoVae> VideoVae::load(const std::string& dir, const Context* place) {
  namespace fs = std::filesystem;
  SV_CHECK(fs::is_directory(dir), dir, ": VAE directory not found");
  const io::JsonConfig cfg = io::JsonConfig::load((fs::path(dir) / "config.json").string());
  const std::string cls = cfg.get_string("_class_name", "AutoencoderKLWan");
  if (cls == "AutoencoderKLWan") return wan_vae::AutoencoderKLWan::load(dir, place);
  if (cls == "AutoencoderKLLTX2Video") return ltx2_vae::AutoencoderKLLTX2Video::load(dir, place);
  SV_THROW(cfg.origin(), ": the VAE is a ", cls, ", which this engine does not run (AutoencoderKLWan, AutoencoderKLLTX2Video)");
}

Tensor VideoVae::decode(Context& ctx, const Tensor& z, const VaeTiling& tiling) const {
  auto s = decode_stream(tiling);
  std::vector<Tensor> parts;
  s->push(ctx, z, true, [&](const Tensor& f) { parts.push_back(f); });
  SV_CHECK(!parts.empty(), "the VAE decoded no frames");
  return parts.size() == 1 ? parts[0] : ops::cat(ctx, parts, 2);
}

void VideoVae::decode_streamed(Context& ctx, const Tensor& z, const FrameSink& sink, const VaeTiling& tiling) const {
  SV_CHECK(z.defined() && z.dim() == 5, "latents must be [B, C, T, h, w]");
  auto s = decode_stream(tiling);
  for (int64_t t = 0; t < z.size(2); ++t) s->push(ctx, z.narrow(2, t, 1).contiguous(), t + 1 == z.size(2), sink);
}

}  // namespace sv
