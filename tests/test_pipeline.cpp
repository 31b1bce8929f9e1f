// End-to-end text-to-video against diffusers' SanaVideoPipeline (tests/golden/pipeline, written by
// tools/reference/make_pipeline_goldens.py): same prompt and seed -> same final latents and frames.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "ops/ops.h"
#include "pipeline/sana_video_pipeline.h"
#include "pipeline/video_pipeline.h"
#include "pipeline_golden.h"
#include "test_util.h"

namespace sv {
namespace {

class PipelineGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineGolden, TextToVideoMatchesDiffusers) {
  static auto pipe = pipeline::SanaVideoPipeline::load(test::golden("pipeline/tiny_t2v"));
  const auto meta = io::JsonConfig::load(test::golden("pipeline/cases.json")).json()[GetParam()];
  test::expect_generate_matches(*pipe, test::params_from_case(meta),
                                test::golden("pipeline/" + GetParam() + ".safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Cases, PipelineGolden, ::testing::Values("t2v_dpm", "t2v_dpm_nocfg", "t2v_euler", "t2v_unipc", "t2i_dpm",
                                                                      "i2v_euler"));

TEST(Pipeline, RejectsImpossibleSizesWithNearestValues) {
  auto pipe = pipeline::SanaVideoPipeline::load(test::golden("pipeline/tiny_t2v"));
  pipeline::GenerateParams p;
  p.height = 30;
  p.width = 64;
  p.frames = 9;
  try {
    pipe->validate(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nearest valid: 32"), std::string::npos) << e.what();
  }
  p.height = 32;
  p.frames = 10;
  try {
    pipe->validate(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nearest valid: 9"), std::string::npos) << e.what();
  }
  p.frames = 9;
  p.steps = 0;
  EXPECT_THROW(pipe->validate(p), Error);
  p.steps = 2;
  p.guidance_scale = -1;
  EXPECT_THROW(pipe->validate(p), Error);
  EXPECT_THROW(pipeline::SanaVideoPipeline::load(test::golden("pipeline")), Error);  // no model_index.json
}

}  // namespace
}  // namespace sv

#include "pipeline/binning.h"

namespace sv {
namespace {

// diffusers' VideoProcessor.classify_height_width_bin and resize_and_crop_tensor (goldens written
// from the same functions).
TEST(ResolutionBinning, MatchesDiffusers) {
  const io::TensorSource ref = io::TensorSource::open(test::golden("pipeline/binning.safetensors"));
  const Tensor bins = ref.get("bins");
  const int64_t* b = bins.data<int64_t>();
  for (int64_t i = 0; i < bins.numel(); i += 6) {
    EXPECT_EQ(pipeline::classify_height_width_bin(int(b[i]), int(b[i + 1]), 30), std::make_pair(int(b[i + 2]), int(b[i + 3])));
    EXPECT_EQ(pipeline::classify_height_width_bin(int(b[i]), int(b[i + 1]), 22), std::make_pair(int(b[i + 4]), int(b[i + 5])));
  }
  EXPECT_THROW(pipeline::classify_height_width_bin(480, 832, 8), Error);
  const Tensor video = ref.get("video").select(0, 0);  // [3, 2, 20, 36]
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{30, 17}, {48, 25}, {36, 20}, {20, 30}}) {
    const Tensor got = pipeline::resize_and_crop_frames(video, w, h);
    const Tensor want = ref.get("to_" + std::to_string(w) + "x" + std::to_string(h)).select(0, 0);
    ASSERT_EQ(got.shape(), want.shape());
    SV_EXPECT_CLOSE(got, want, 1e-5, "resize to " + std::to_string(w) + "x" + std::to_string(h));
  }
}

}  // namespace
}  // namespace sv

namespace sv {
namespace {

// A folder whose weights could never fit in this machine's memory is refused at load, before any file
// is parsed (the 8 TiB safetensors file here is sparse: its size is all that is read).
TEST(Pipeline, WeightsLargerThanMemoryRefusedAtLoad) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("sv_huge_model_" + std::to_string(::getpid()));
  fs::create_directories(dir / "transformer");
  std::ofstream(dir / "model_index.json") << R"({"_class_name": "SanaVideoPipeline"})";
  const fs::path w = dir / "transformer" / "diffusion_pytorch_model.safetensors";
  std::ofstream(w).put('\0');
  std::error_code ec;
  fs::resize_file(w, uint64_t(1) << 43, ec);
  if (ec) {
    fs::remove_all(dir);
    GTEST_SKIP() << "no sparse files here: " << ec.message();
  }
  try {
    pipeline::VideoPipeline::load(dir.string());
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model's weights need at least 8192.0 GiB of memory"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sv
