// `sana-video run vae-decode` / `run vae-encode`: AutoencoderKLWan on tensors from a safetensors file.
// vae-decode streams: each latent frame's video frames go to the optional video writer as soon as
// they are decoded, and the full sample tensor is only assembled when --output is given.
#include <filesystem>

#include "args.h"
#include "core/context.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/ops.h"

namespace sv::cli {

int run_vae_decode(const std::vector<std::string>& argv) {
  const std::string cmd = "run vae-decode";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--video", "--fps", "--device", "--dtype"}, cmd);
  const std::string in_path = args.get("--inputs", cmd);
  SV_CHECK(args.has("--output") || args.has("--video"), cmd, ": give --output OUT.safetensors and/or --video FILE");
  const int fps = args.get_int("--fps", 16, cmd);
  Context ctx = args.context(cmd);
  auto vae = wan_vae::AutoencoderKLWan::load(args.get("--model", cmd), &ctx);
  const io::TensorSource in = io::TensorSource::open(in_path);
  SV_CHECK(in.has("latents"), in_path, ": missing input tensor 'latents'");
  const Tensor z = in.get("latents");
  SV_CHECK(z.dim() == 5 && z.size(1) == vae->config().z_dim, in_path, ": 'latents' must be [B, ", vae->config().z_dim,
           ", T, h, w], got ", shape_str(z.shape()));
  SV_CHECK(dtype_is_float(z.dtype()), in_path, ": 'latents' must be floating point");
  std::unique_ptr<io::VideoWriter> writer;
  if (args.has("--video")) {
    SV_CHECK(z.size(0) == 1, cmd, ": --video writes one clip; the latents hold a batch of ", z.size(0));
    io::VideoWriter::Options o;
    o.fps = fps;
    o.width = static_cast<int>(z.size(4) * vae->config().scale_factor_spatial);
    o.height = static_cast<int>(z.size(3) * vae->config().scale_factor_spatial);
    writer = io::VideoWriter::open(args.get("--video", cmd), o);
  }
  std::vector<Tensor> parts;
  vae->decode(ctx, z, [&](const Tensor& device_frames) {
    const Tensor frames = device_frames.to_host();
    if (writer) writer->write_frames(frames.select(0, 0));
    if (args.has("--output")) parts.push_back(frames);
  });
  if (writer) writer->finish();
  Context host(Device::CPU, 1);
  if (args.has("--output")) io::write_safetensors(args.get("--output", cmd), {{"sample", ops::cat(host, parts, 2)}});
  return 0;
}

int run_vae_encode(const std::vector<std::string>& argv) {
  const std::string cmd = "run vae-encode";
  Args args(argv, {"--model", "--inputs", "--output", "--threads", "--device", "--dtype"}, cmd);
  const std::string in_path = args.get("--inputs", cmd);
  Context ctx = args.context(cmd);
  auto vae = wan_vae::AutoencoderKLWan::load(args.get("--model", cmd), &ctx);
  const io::TensorSource in = io::TensorSource::open(in_path);
  SV_CHECK(in.has("video"), in_path, ": missing input tensor 'video'");
  const Tensor v = in.get("video");
  SV_CHECK(v.dim() == 5 && v.size(1) == vae->config().in_channels, in_path, ": 'video' must be [B, ",
           vae->config().in_channels, ", F, H, W], got ", shape_str(v.shape()));
  const Tensor moments = vae->encode(ctx, v);
  io::write_safetensors(args.get("--output", cmd),
                        {{"latent_mean", moments.narrow(1, 0, vae->config().z_dim).contiguous()}});
  return 0;
}

}  // namespace sv::cli
