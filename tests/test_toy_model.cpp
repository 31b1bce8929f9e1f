// The embedded toy model (models/sana-video-toy, trained by tools/toy/train_toy.py): it must generate
// what the prompt asks for, and give diffusers' frames on fixed seeds. The model tests skip only if the
// folder is removed (tests/cli_errors.sh fails then); the scene reader's own test always runs.
// The scene reader mirrors tools/toy/toy_data.py's analyse/matches with the same thresholds.
#include <array>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <map>

#include "core/context.h"
#include "io/json_config.h"
#include "io/safetensors.h"
#include "io/video_writer.h"
#include "pipeline/sana_video_pipeline.h"
#include "test_util.h"

namespace sv {
namespace {

const std::array<float, 3> kBackground{26, 26, 30};
const std::map<std::string, std::array<float, 3>> kColours{
    {"red", {230, 40, 40}}, {"green", {40, 200, 60}}, {"blue", {50, 90, 240}}, {"yellow", {240, 215, 40}}};
const std::map<std::string, std::array<int, 2>> kDirections{
    {"left", {-1, 0}}, {"right", {1, 0}}, {"up", {0, -1}}, {"down", {0, 1}}};
const char* kShapes[] = {"circle", "square", "triangle"};

struct Scene {
  std::string colour;  // empty: no object found
  double dx = 0, dy = 0;
  int64_t width = 0;
};

// frames [F][H*W*3] RGB bytes.
Scene analyse(const std::vector<std::vector<uint8_t>>& frames, int64_t H, int64_t W) {
  Scene s;
  s.width = W;
  const int64_t F = static_cast<int64_t>(frames.size());
  std::array<double, 3> sum{0, 0, 0};
  int64_t count = 0;
  double cx[2] = {0, 0}, cy[2] = {0, 0};
  const int64_t picks[6] = {0, 1, 2, F - 3, F - 2, F - 1};
  for (int k = 0; k < 6; ++k) {
    const auto& f = frames[static_cast<size_t>(picks[k])];
    double mx = 0, my = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < H * W; ++i) {
      float dist = 0;
      for (int c = 0; c < 3; ++c) dist += std::fabs(static_cast<float>(f[static_cast<size_t>(i * 3 + c)]) - kBackground[c]);
      if (dist <= 120) continue;
      mx += static_cast<double>(i % W), my += static_cast<double>(i / W), ++n;
      for (int c = 0; c < 3; ++c) sum[c] += f[static_cast<size_t>(i * 3 + c)];
      ++count;
    }
    if (n < 4) return s;
    cx[k / 3] += mx / n / 3, cy[k / 3] += my / n / 3;
  }
  double best = INFINITY;
  for (const auto& [name, rgb] : kColours) {
    double d = 0;
    for (int c = 0; c < 3; ++c) d += std::pow(rgb[c] - sum[c] / count, 2);
    if (d < best) best = d, s.colour = name;
  }
  s.dx = cx[1] - cx[0], s.dy = cy[1] - cy[0];
  return s;
}

bool matches(const std::string& colour, const std::string& direction, const Scene& s) {
  if (s.colour != colour) return false;
  const auto d = kDirections.at(direction);
  const double along = s.dx * d[0] + s.dy * d[1];
  const double across = std::fabs(s.dx * d[1]) + std::fabs(s.dy * d[0]);
  return along >= static_cast<double>(s.width) / 8 && along > 2.0 * across;
}

class ToyModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(std::string(SV_TOY_MODEL) + "/model_index.json")) return;
    pipe_ = pipeline::SanaVideoPipeline::load(SV_TOY_MODEL).release();
    const io::JsonConfig d = io::JsonConfig::load(std::string(SV_TOY_MODEL) + "/generation_defaults.json");
    params_.height = static_cast<int>(d.get_int("height"));
    params_.width = static_cast<int>(d.get_int("width"));
    params_.frames = static_cast<int>(d.get_int("frames"));
    params_.steps = static_cast<int>(d.get_int("steps"));
    params_.guidance_scale = d.get_float("guidance_scale");
  }
  static void TearDownTestSuite() { delete pipe_; }
  void SetUp() override {
    if (!pipe_) GTEST_SKIP() << SV_TOY_MODEL << " is missing (tools/toy/train_toy.py makes it)";
  }

  // RGB bytes per frame, as written to video files.
  static std::vector<std::vector<uint8_t>> generate(Context& ctx, const std::string& prompt, uint64_t seed) {
    pipeline::GenerateParams p = params_;
    p.prompt = prompt;
    p.seed = seed;
    std::vector<std::vector<uint8_t>> out;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) {
      const Tensor clip = f.select(0, 0);
      for (int64_t i = 0; i < clip.size(1); ++i) out.push_back(io::frame_to_rgb24(clip, i));
    };
    pipe_->generate(ctx, p, cb);
    return out;
  }
  static pipeline::SanaVideoPipeline* pipe_;
  static pipeline::GenerateParams params_;
};
pipeline::SanaVideoPipeline* ToyModel::pipe_ = nullptr;
pipeline::GenerateParams ToyModel::params_;

// Every colour x shape x direction, three seeds: the object has the asked colour and moves the asked way.
TEST_F(ToyModel, GeneratesTheAskedColourAndDirection) {
  Context ctx(Device::CPU, 2);
  int ok = 0, total = 0;
  std::map<std::string, int> misses;
  for (const auto& [colour, rgb] : kColours)
    for (const char* shape : kShapes)
      for (const auto& [direction, d] : kDirections)
        for (uint64_t seed = 0; seed < 3; ++seed) {
          const std::string prompt = "a " + colour + " " + shape + " moving " + direction;
          const auto frames = generate(ctx, prompt, seed);
          ASSERT_EQ(static_cast<int>(frames.size()), params_.frames);
          const Scene s = analyse(frames, params_.height, params_.width);
          const bool good = matches(colour, direction, s);
          ok += good, ++total;
          if (!good) {
            ++misses[colour + " " + direction];
            std::printf("  miss: '%s' seed %llu -> colour '%s', shift (%.1f, %.1f)\n", prompt.c_str(),
                        static_cast<unsigned long long>(seed), s.colour.c_str(), s.dx, s.dy);
          }
        }
  const double rate = static_cast<double>(ok) / total;
  std::printf("toy model: %d of %d prompts x seeds generated as asked (%.1f%%)\n", ok, total, 100.0 * rate);
  EXPECT_GE(rate, 0.90);
}

// The scene reader itself: a clip with nothing in it or the wrong colour fails.
TEST(ToyScene, ReaderRejectsWrongScenes) {
  const int64_t H = 64, W = 64;
  std::vector<std::vector<uint8_t>> frames(17, std::vector<uint8_t>(H * W * 3));
  for (auto& f : frames)
    for (int64_t i = 0; i < H * W; ++i)
      for (int c = 0; c < 3; ++c) f[static_cast<size_t>(i * 3 + c)] = static_cast<uint8_t>(kBackground[c]);
  EXPECT_TRUE(analyse(frames, H, W).colour.empty());
  for (int64_t t = 0; t < 17; ++t)  // a red 10x10 square moving right 2 px per frame
    for (int64_t y = 20; y < 30; ++y)
      for (int64_t x = 5 + 2 * t; x < 15 + 2 * t; ++x) {
        uint8_t* p = frames[static_cast<size_t>(t)].data() + (y * W + x) * 3;
        p[0] = 230, p[1] = 40, p[2] = 40;
      }
  const Scene s = analyse(frames, H, W);
  EXPECT_EQ(s.colour, "red");
  EXPECT_NEAR(s.dx, 28.0, 1e-9);
  EXPECT_TRUE(matches("red", "right", s));
  EXPECT_FALSE(matches("red", "left", s));
  EXPECT_FALSE(matches("blue", "right", s));
  EXPECT_FALSE(matches("red", "up", s));
}

// Same frames as diffusers' SanaVideoPipeline on this model (tools/toy/make_toy_goldens.py), including
// a prompt far outside the toy vocabulary.
TEST_F(ToyModel, MatchesDiffusersFrames) {
  Context ctx(Device::CPU, 2);
  const io::JsonConfig cases = io::JsonConfig::load(test::golden("toy/cases.json"));
  int n = 0;
  for (const auto& [name, c] : cases.json().items()) {
    const auto got = generate(ctx, c["prompt"].get<std::string>(), c["seed"].get<uint64_t>());
    const Tensor ref = io::TensorSource::open(test::golden("toy/" + name + ".safetensors")).get("frames");  // [F,H,W,3]
    ASSERT_EQ(ref.numel(), static_cast<int64_t>(got.size() * got[0].size())) << name;
    const uint8_t* r = ref.data<uint8_t>();
    double se = 0;
    size_t k = 0;
    for (const auto& f : got)
      for (uint8_t v : f) se += std::pow(static_cast<double>(v) - r[k++], 2);
    const double mse = se / static_cast<double>(k);
    const double psnr = mse == 0 ? INFINITY : 10 * std::log10(255.0 * 255.0 / mse);
    std::printf("toy parity %s: PSNR %.1f dB\n", name.c_str(), psnr);
    EXPECT_GE(psnr, 40.0) << name;
    ++n;
  }
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace sv
