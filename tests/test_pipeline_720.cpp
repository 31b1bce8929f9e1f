// The 720p layout end to end: a tiny SanaVideoPipeline on the LTX-2 VAE (patch 1x1x1 transformer,
// sample_size 22) against diffusers' SanaVideoPipeline and SanaImageToVideoPipeline
// (tests/golden/ltx2_pipeline, written by tools/reference/make_ltx2_goldens.py).
#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "ops/ops.h"
#include "pipeline/sana_video_pipeline.h"
#include "pipeline_golden.h"
#include "test_util.h"

namespace sv {
namespace {

const pipeline::SanaVideoPipeline& pipe720() {
  static auto pipe = pipeline::SanaVideoPipeline::load(test::golden("ltx2_pipeline/tiny_720"));
  return *pipe;
}

class Pipeline720 : public ::testing::TestWithParam<std::string> {};

TEST_P(Pipeline720, MatchesDiffusers) {
  const auto meta = io::JsonConfig::load(test::golden("ltx2_pipeline/cases.json")).json()[GetParam()];
  test::expect_generate_matches(pipe720(), test::params_from_case(meta),
                                test::golden("ltx2_pipeline/" + GetParam() + ".safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Cases, Pipeline720, ::testing::Values("t2v", "i2v"));

TEST(Pipeline720, FrameRuleAndSizesNameTheNearestValid) {
  pipeline::GenerateParams p;
  p.height = 64, p.width = 64, p.frames = 12;  // the 8x temporal VAE takes 8k + 1 frames
  try {
    pipe720().validate(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("8k + 1; nearest valid: 9"), std::string::npos) << e.what();
  }
  p.frames = 17, p.width = 80;
  try {
    pipe720().validate(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 32"), std::string::npos) << e.what();
  }
  p.width = 64, p.frames = 9;
  p.vae_tiling.enabled = true;
  p.vae_tiling.stride_width = 100;
  EXPECT_THROW(pipe720().validate(p), Error);
  // Decoder limits are refused by validate(), before the text encoder or any step runs.
  p.vae_tiling = {};
  p.height = 32;  // one latent row: too small for the decoder's reflect padding
  EXPECT_THROW(pipe720().validate(p), Error);
  p.height = 64, p.width = 96;
  p.vae_tiling.enabled = true;
  p.vae_tiling.tile_height = p.vae_tiling.tile_width = 64;
  p.vae_tiling.stride_height = p.vae_tiling.stride_width = 32;
  try {  // 2 x 3 latents in 2-latent tiles every latent: the last column of tiles is one latent wide
    pipe720().validate(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small for the decoder's reflect padding"), std::string::npos) << e.what();
  }
  // 720p binning: sample_size 22 selects diffusers' ASPECT_RATIO_720_BIN.
  p = {};
  p.height = 720, p.width = 1280, p.frames = 9, p.resolution_binning = true;
  EXPECT_NO_THROW(pipe720().validate(p));
}

TEST(Pipeline720, RefusesAVaeWhoseChannelsDoNotMatchTheTransformer) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("sv_720_mismatch_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(test::golden("ltx2_pipeline/tiny_720"), dir, fs::copy_options::recursive);
  fs::remove_all(dir / "vae");
  // A valid VAE with 4 latent channels (the Wan mini case) under the 8-channel transformer.
  fs::create_directories(dir / "vae");
  for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors"})
    fs::copy_file(test::golden("wan_vae/wan21_mini") + "/" + f, dir / "vae" / f);
  nlohmann::json idx = io::JsonConfig::load((dir / "model_index.json").string()).json();
  idx["vae"] = {"diffusers", "AutoencoderKLWan"};
  std::ofstream((dir / "model_index.json").string()) << idx.dump();
  try {
    pipeline::SanaVideoPipeline::load(dir.string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latent channels"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sv
