// `sana-video run vae-decode` / `run vae-encode`: a VAE folder (AutoencoderKLWan or
// AutoencoderKLLTX2Video, from its config) on tensors from a safetensors file. vae-decode streams:
// each latent frame is pushed as it would be during generation, finished video frames go to the
// optional video writer at once, and the full sample tensor is only assembled when --output is given.
#include <filesystem>

#include "args.h"
#include "core/context.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "models/video_vae.h"
#include "ops/ops.h"

namespace sv::cli {

int run_vae_decode(const std::vector<std::string>& argv) {
  const std::string cmd = "run vae-decode";
  Args args(argv,
            Args::with_tiling({"--model", "--inputs", "--output", "--threads", "--video", "--fps", "--device", "--dtype"}),
            cmd);
  const std::string in_path = args.get("--inputs", cmd);
  SV_CHECK(args.has("--output") || args.has("--video"), cmd, ": give --output OUT.safetensors and/or --video FILE");
  const int fps = args.get_int("--fps", 16, cmd);
  const VaeTiling tiling = args.vae_tiling(cmd);
  Context ctx = args.context(cmd);
  auto vae = VideoVae::load(args.get("--model", cmd), &ctx);
  const VideoVae::Info& vi = vae->info();
  const io::TensorSource in = io::TensorSource::open(in_path);
  SV_CHECK(in.has("latents"), in_path, ": missing input tensor 'latents'");
  const Tensor z = in.get("latents");
  SV_CHECK(z.dim() == 5 && z.size(1) == vi.latent_channels, in_path, ": 'latents' must be [B, ", vi.latent_channels,
           ", T, h, w], got ", shape_str(z.shape()));
  SV_CHECK(dtype_is_float(z.dtype()), in_path, ": 'latents' must be floating point");
  SV_CHECK(z.size(0) > 0 && z.size(2) > 0 && z.size(3) > 0 && z.size(4) > 0, in_path, ": 'latents' ",
           shape_str(z.shape()), " have an empty dimension");
  std::unique_ptr<io::VideoWriter> writer;
  if (args.has("--video")) {
    SV_CHECK(z.size(0) == 1, cmd, ": --video writes one clip; the latents hold a batch of ", z.size(0));
    io::VideoWriter::Options o;
    o.fps = fps;
    o.width = static_cast<int>(z.size(4) * vi.spatial_factor);
    o.height = static_cast<int>(z.size(3) * vi.spatial_factor);
    writer = io::VideoWriter::open(args.get("--video", cmd), o);
  }
  std::vector<Tensor> parts;
  vae->decode_streamed(
      ctx, z,
      [&](const Tensor& f) {
        const Tensor frames = f.to_host();
        if (writer) writer->write_frames(frames.select(0, 0));
        if (args.has("--output")) parts.push_back(frames);
      },
      tiling);
  if (writer) writer->finish();
  Context host(Device::CPU, 1);
  if (args.has("--output")) io::write_safetensors(args.get("--output", cmd), {{"sample", ops::cat(host, parts, 2)}});
  return 0;
}

int run_vae_encode(const std::vector<std::string>& argv) {
  const std::string cmd = "run vae-encode";
  Args args(argv, Args::with_tiling({"--model", "--inputs", "--output", "--threads", "--device", "--dtype"}), cmd);
  const std::string in_path = args.get("--inputs", cmd);
  const VaeTiling tiling = args.vae_tiling(cmd);
  Context ctx = args.context(cmd);
  auto vae = VideoVae::load(args.get("--model", cmd), &ctx);
  const io::TensorSource in = io::TensorSource::open(in_path);
  SV_CHECK(in.has("video"), in_path, ": missing input tensor 'video'");
  const Tensor v = in.get("video");
  SV_CHECK(v.dim() == 5 && v.size(1) == vae->info().image_channels, in_path, ": 'video' must be [B, ",
           vae->info().image_channels, ", F, H, W], got ", shape_str(v.shape()));
  SV_CHECK(v.size(0) > 0, in_path, ": 'video' has an empty batch");
  vae->check_video(v.size(2), v.size(3), v.size(4));
  io::write_safetensors(args.get("--output", cmd), {{"latent_mean", vae->encode_mean(ctx, v, tiling).to_host()}});
  return 0;
}

}  // namespace sv::cli
