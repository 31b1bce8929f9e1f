// AutoencoderKLLTX2Video against diffusers goldens (tests/golden/ltx2_vae, written by
// tools/reference/make_ltx2_goldens.py): decode, encode, diffusers' spatial tiling, the exact streaming
// decode of the non-causal decoder, and the configs and inputs it must refuse.
#include <filesystem>
#include <fstream>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "models/ltx2_vae/ltx2_vae.h"
#include "ops/ops.h"
#include "test_util.h"

namespace sv {
namespace {

using ltx2_vae::AutoencoderKLLTX2Video;

std::string case_dir(const std::string& c) { return test::golden("ltx2_vae/" + c); }

class Ltx2VaeGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(Ltx2VaeGolden, DecodeMatchesDiffusers) {
  auto vae = VideoVae::load(case_dir(GetParam()));
  EXPECT_EQ(vae->info().class_name, "AutoencoderKLLTX2Video");
  const io::TensorSource in = io::TensorSource::open(case_dir(GetParam()) + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(case_dir(GetParam()) + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  const Tensor out = vae->decode(ctx, in.get("latents"));
  ASSERT_EQ(out.shape(), ref.get("sample").shape());
  SV_EXPECT_CLOSE(out, ref.get("sample"), 1e-4, "sample");
  // No clamp inside decode (diffusers clamps only in post-processing): the golden leaves [-1, 1].
  float peak = 0;
  for (float v : out.to_vector()) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 1.0f);
}

TEST_P(Ltx2VaeGolden, EncodeMatchesDiffusers) {
  auto vae = AutoencoderKLLTX2Video::load(case_dir(GetParam()));
  const io::TensorSource in = io::TensorSource::open(case_dir(GetParam()) + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(case_dir(GetParam()) + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  SV_EXPECT_CLOSE(vae->encode_moments(ctx, in.get("video")), ref.get("moments"), 1e-4, "moments");
  SV_EXPECT_CLOSE(vae->encode_mean(ctx, in.get("video")), ref.get("latent_mean"), 1e-4, "latent_mean");
}

// The non-causal decoder streamed one latent frame at a time gives the whole decode's frames.
TEST_P(Ltx2VaeGolden, StreamingDecodeEqualsWholeDecode) {
  auto vae = VideoVae::load(case_dir(GetParam()));
  const Tensor z = io::TensorSource::open(case_dir(GetParam()) + "/inputs.safetensors").get("latents");
  Context ctx(Device::CPU, 2);
  const Tensor whole = vae->decode(ctx, z);
  std::vector<Tensor> parts;
  vae->decode_streamed(ctx, z, [&](const Tensor& f) { parts.push_back(f); });
  const Tensor joined = ops::cat(ctx, parts, 2);
  ASSERT_EQ(joined.shape(), whole.shape());
  SV_EXPECT_CLOSE(joined, whole, 1e-6, "streamed vs whole");
}

// "c" is the LTX-2.3 layout (SANA-Video 2.0's VAE): four up blocks with factors (2, 2, 1, 2), a temporal-only
// and a spatial-only upsampler, its types stored as the released config stores them (decoder_upsample_type).
INSTANTIATE_TEST_SUITE_P(Cases, Ltx2VaeGolden, ::testing::Values("a", "b", "c"));

VaeTiling golden_tiling() {
  const auto j = io::JsonConfig::load(case_dir("a") + "/tiling.json").json();
  VaeTiling t;
  t.enabled = true;
  t.tile_height = j["tile_sample_min_height"].get<int64_t>();
  t.tile_width = j["tile_sample_min_width"].get<int64_t>();
  t.stride_height = j["tile_sample_stride_height"].get<int64_t>();
  t.stride_width = j["tile_sample_stride_width"].get<int64_t>();
  return t;
}

TEST(Ltx2Vae, TiledDecodeAndEncodeMatchDiffusers) {
  auto vae = VideoVae::load(case_dir("a"));
  const io::TensorSource in = io::TensorSource::open(case_dir("a") + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(case_dir("a") + "/expected_tiled.safetensors");
  Context ctx(Device::CPU, 2);
  const VaeTiling t = golden_tiling();
  const Tensor z = in.get("latents_tiled");
  const Tensor tiled = vae->decode(ctx, z, t);
  ASSERT_EQ(tiled.shape(), ref.get("sample_tiled").shape());
  SV_EXPECT_CLOSE(tiled, ref.get("sample_tiled"), 1e-4, "tiled sample");
  // Tiles blend per frame, so the tiled decode streams too.
  std::vector<Tensor> parts;
  vae->decode_streamed(ctx, z, [&](const Tensor& f) { parts.push_back(f); }, t);
  SV_EXPECT_CLOSE(ops::cat(ctx, parts, 2), tiled, 1e-6, "streamed tiled vs tiled");
  SV_EXPECT_CLOSE(vae->encode_mean(ctx, in.get("video_tiled"), t), ref.get("latent_mean_tiled"), 1e-4, "tiled encode");
  // Tiling changes the numbers (the golden is not the untiled decode).
  EXPECT_GT(test::compare(vae->decode(ctx, z), ref.get("sample_tiled")).ratio(), 1e-2);
}

// The streamed decoder's state is a fixed set of frames per conv: it stops growing once every conv has
// seen two frames, however long the clip.
TEST(Ltx2Vae, StreamStateStaysConstant) {
  auto vae = VideoVae::load(case_dir("a"));
  Context ctx(Device::CPU, 2);
  auto s = vae->decode_stream();
  std::vector<size_t> bytes;
  int64_t frames = 0;
  auto count = [&](const Tensor& f) { frames += f.size(2); };
  for (int i = 0; i < 24; ++i) {
    s->push(ctx, Tensor::zeros({1, 8, 1, 2, 3}), false, count);
    bytes.push_back(s->cache_bytes());
  }
  // This depth fills its pipeline within 12 latent frames; from then on nothing accumulates.
  for (size_t i = 12; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], bytes[11]) << "after latent frame " << i;
  EXPECT_GT(frames, 0);  // past the receptive field, frames come out before the end
  const int64_t before = frames;
  s->push(ctx, Tensor(), true, count);
  EXPECT_GT(frames, before);  // the flush hands over the frames still in flight
  EXPECT_EQ(frames, 1 + 8 * 23);
}

// The stream owns what it keeps: refilling the caller's buffer between pushes changes nothing, and a
// push after the end is an error.
TEST(Ltx2Vae, StreamOwnsItsInputsAndEnds) {
  auto vae = VideoVae::load(case_dir("a"));
  const Tensor z = io::TensorSource::open(case_dir("a") + "/inputs.safetensors").get("latents");
  Context ctx(Device::CPU, 2);
  const Tensor whole = vae->decode(ctx, z);
  for (bool tiled : {false, true}) {
    VaeTiling t = golden_tiling();
    t.enabled = tiled;
    auto s = vae->decode_stream(t);
    std::vector<Tensor> parts;
    Tensor buf = Tensor::empty({1, 8, 1, 2, 3});
    for (int64_t i = 0; i < z.size(2); ++i) {
      const Tensor src = z.narrow(2, i, 1).contiguous();
      std::copy(src.f32(), src.f32() + src.numel(), buf.f32());
      s->push(ctx, buf, i + 1 == z.size(2), [&](const Tensor& f) { parts.push_back(f); });
    }
    SV_EXPECT_CLOSE(ops::cat(ctx, parts, 2), whole, 1e-6, tiled ? "tiled, one refilled buffer" : "one refilled buffer");
    EXPECT_THROW(s->push(ctx, buf, true, [](const Tensor&) {}), Error);
  }
}

// A copy of case "a" with its config edited.
std::string edited_case(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("sv_ltx2_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(case_dir("a") + "/diffusion_pytorch_model.safetensors", dir / "diffusion_pytorch_model.safetensors",
                fs::copy_options::overwrite_existing);
  nlohmann::json j = io::JsonConfig::load(case_dir("a") + "/config.json").json();
  edit(j);
  std::ofstream(dir / "config.json") << j.dump();
  return dir.string();
}

void expect_refused(const std::string& dir, const std::string& needle) {
  try {
    VideoVae::load(dir);
    ADD_FAILURE() << "loaded " << dir;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Ltx2Vae, RefusesOptionsItDoesNotImplementByName) {
  expect_refused(edited_case("tc", [](auto& j) { j["timestep_conditioning"] = true; }), "timestep_conditioning");
  expect_refused(edited_case("noise", [](auto& j) { j["decoder_inject_noise"] = true; }), "decoder_inject_noise");
  expect_refused(edited_case("pad", [](auto& j) { j["decoder_spatial_padding_mode"] = "replicate"; }),
                 "decoder_spatial_padding_mode");
  expect_refused(edited_case("conv", [](auto& j) { j["downsample_type"][0] = "conv"; }), "'conv'");
  expect_refused(edited_case("ratio", [](auto& j) { j["spatial_compression_ratio"] = 64; }), "spatial_compression_ratio");
  expect_refused(edited_case("up", [](auto& j) { j["upsample_type"][0] = "spatial"; }), "expands");
  expect_refused(edited_case("chans", [](auto& j) { j["decoder_block_out_channels"] = {8, 8, 32}; }), "conv_in");
}

TEST(Ltx2Vae, RefusesFramesAndSizesWithTheNearestValid) {
  auto vae = VideoVae::load(case_dir("a"));
  Context ctx(Device::CPU, 1);
  auto message = [&](const std::string& file) {
    try {
      vae->encode_mean(ctx, io::TensorSource::open(case_dir("bad_inputs") + "/" + file).get("video"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("video_10_frames.safetensors").find("nearest valid: 9"), std::string::npos);
  EXPECT_NE(message("video_48_high.safetensors").find("multiple of 32"), std::string::npos);
  // Reflect padding needs latents of at least 2 x 2 (diffusers raises inside torch).
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 8, 2, 1, 3})), Error);
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 7, 2, 2, 3})), Error);
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 8, 0, 2, 3})), Error);
  VaeTiling t = golden_tiling();
  t.stride_width = 48;  // not a multiple of 32
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 8, 1, 4, 4}), t), Error);
  // A last tile one latent wide would reach reflect padding with a single column.
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 8, 1, 4, 5}), golden_tiling()), Error);
}

}  // namespace
}  // namespace sv
