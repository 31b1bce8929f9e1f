// The C API's in-memory inputs and outputs (what the Python package is built on), on the toy model:
// frames handed back equal the file written in the same call, in-memory tensors equal their file
// twins, and bad arguments are SV_ERROR_INVALID_ARGUMENT with a message.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "io/image.h"
#include "io/safetensors.h"
#include "sv/sv.h"
#include "test_util.h"

namespace sv {
namespace {
namespace fs = std::filesystem;

struct Sink {
  std::vector<float> frames;  // [n, H, W, 3]
  int next = 0, total = 0, height = 0, width = 0, steps = 0;
  std::vector<double> timesteps;
  std::vector<float> latents;
  std::vector<int64_t> latents_shape;
};

void on_frames(const float* rgb, int first, int count, int total, int h, int w, void* ud) {
  Sink& s = *static_cast<Sink*>(ud);
  EXPECT_EQ(first, s.next);  // in order, no gaps
  s.next = first + count;
  s.total = total, s.height = h, s.width = w;
  s.frames.insert(s.frames.end(), rgb, rgb + static_cast<size_t>(count) * h * w * 3);
}

void on_latents(const float* data, const int64_t* shape, int ndim, void* ud) {
  Sink& s = *static_cast<Sink*>(ud);
  s.latents_shape.assign(shape, shape + ndim);
  size_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= static_cast<size_t>(shape[i]);
  s.latents.assign(data, data + n);
}

void on_step(int step, int total, double t, void* ud) {
  Sink& s = *static_cast<Sink*>(ud);
  EXPECT_EQ(step, s.steps + 1);
  EXPECT_EQ(total, 4);
  s.steps = step;
  s.timesteps.push_back(t);
}

class CApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(fs::path(SV_TOY_MODEL) / "model_index.json")) return;
    sv_model_params mp = sv_model_default_params();
    mp.threads = 2;
    mp.device = "cpu";
    char err[512];
    ASSERT_EQ(sv_model_load(SV_TOY_MODEL, &mp, &model_, err, sizeof err), SV_OK) << err;
  }
  static void TearDownTestSuite() {
    sv_model_free(model_);
    model_ = nullptr;
  }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << SV_TOY_MODEL << " is missing";
    dir_ = fs::temp_directory_path() / ("sv_capi_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static sv_generate_params params(Sink& s) {
    sv_generate_params gp = sv_generate_default_params();
    gp.prompt = "a blue triangle moving up";
    gp.seed = 5;
    gp.steps = 4;
    gp.user_data = &s;
    return gp;
  }
  static sv_model* model_;
  fs::path dir_;
};
sv_model* CApi::model_ = nullptr;

TEST_F(CApi, FramesInMemoryAreTheFileFramesBeforeRounding) {
  Sink s;
  sv_generate_params gp = params(s);
  const std::string out = (dir_ / "frames").string() + "/";
  gp.output_path = out.c_str();
  gp.on_frames = on_frames;
  gp.on_latents = on_latents;
  gp.on_step = on_step;
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  ASSERT_EQ(s.total, 17);
  EXPECT_EQ(s.next, 17);
  EXPECT_EQ(gp.frames_written, 17);
  EXPECT_EQ(s.steps, 4);
  for (size_t i = 1; i < s.timesteps.size(); ++i) EXPECT_LT(s.timesteps[i], s.timesteps[i - 1]);
  EXPECT_EQ(s.latents_shape, (std::vector<int64_t>{1, 8, 9, 8, 8}));
  double lmax = 0;
  for (float v : s.latents) lmax = std::max(lmax, std::fabs(static_cast<double>(v)));
  EXPECT_GT(lmax, 0.1);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_ / "frames")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 17u);
  const size_t per = static_cast<size_t>(s.height) * s.width * 3;
  float fmin = 1, fmax = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const io::Image img = io::read_image(files[f].string());
    ASSERT_EQ(img.rgb.size(), per);
    for (size_t i = 0; i < per; ++i) {
      const float v = s.frames[f * per + i];
      fmin = std::min(fmin, v), fmax = std::max(fmax, v);
      ASSERT_EQ(img.rgb[i], static_cast<uint8_t>(std::nearbyint(v * 255.0f))) << files[f] << " " << i;
    }
  }
  EXPECT_GE(fmin, 0.0f);
  EXPECT_LE(fmax, 1.0f);
  EXPECT_LT(fmin, fmax);
}

TEST_F(CApi, InMemoryTensorsEqualTheirFiles) {
  // Latents out -> in as a file and from memory: the same result.
  Sink a;
  sv_generate_params gp = params(a);
  gp.on_latents = on_latents;
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  std::vector<float> noise(a.latents.size());
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = std::sin(0.37f * static_cast<float>(i));
  const std::string file = (dir_ / "noise.safetensors").string();
  io::write_safetensors(file, {{"latents", Tensor::from_vector(noise, Shape(a.latents_shape.begin(), a.latents_shape.end()))}});
  Sink from_file, from_mem;
  gp = params(from_file);
  gp.on_latents = on_latents;
  gp.initial_latents_path = file.c_str();
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  gp = params(from_mem);
  gp.seed = 99;  // ignored when latents are given
  gp.on_latents = on_latents;
  gp.initial_latents.data = noise.data();
  gp.initial_latents.ndim = 5;
  std::copy(a.latents_shape.begin(), a.latents_shape.end(), gp.initial_latents.shape);
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  EXPECT_EQ(from_file.latents, from_mem.latents);
  EXPECT_NE(from_file.latents, a.latents);

  // A wrong latent shape is the caller's error, before any work.
  gp.initial_latents.shape[2] = 2;
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sv_model_last_error(model_)).find("initial latents must be"), std::string::npos);
  gp.initial_latents.ndim = 0;
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);
  gp.initial_latents.ndim = 5;
  gp.initial_latents.shape[2] = -3;
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);

  // A prompt past 64 KiB only costs tokenizer time: refused before any work.
  gp.initial_latents.ndim = 0;
  const std::string huge(70000, 'a');
  gp.prompt = huge.c_str();
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sv_model_last_error(model_)).find("prompt is 70000 bytes; at most 65536"), std::string::npos)
      << sv_model_last_error(model_);
}

TEST_F(CApi, InMemoryImageEqualsTheImageFile) {
  io::Image img;
  img.width = 20, img.height = 12;
  img.rgb.resize(20 * 12 * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 37) % 251);
  const std::string png = (dir_ / "first.png").string();
  {
    // Written through the PNG-folder writer, then read back: the file the engine decodes.
    sv_video_writer* w = nullptr;
    char err[256];
    const std::string d = (dir_ / "img").string() + "/";
    ASSERT_EQ(sv_video_writer_open(d.c_str(), 20, 12, 1, &w, err, sizeof err), SV_OK) << err;
    ASSERT_EQ(sv_video_writer_write_rgb8(w, img.rgb.data(), 1), SV_OK);
    ASSERT_EQ(sv_video_writer_finish(w), SV_OK);
    sv_video_writer_free(w);
    fs::rename(dir_ / "img" / "frame_00000.png", png);
  }
  EXPECT_EQ(io::read_image(png).rgb, img.rgb);
  Sink f, m;
  sv_generate_params gp = params(f);
  gp.on_latents = on_latents;
  gp.image_path = png.c_str();
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  gp = params(m);
  gp.on_latents = on_latents;
  gp.image_rgb = img.rgb.data();
  gp.image_width = 20, gp.image_height = 12;
  ASSERT_EQ(sv_generate(model_, &gp), SV_OK) << sv_model_last_error(model_);
  EXPECT_EQ(f.latents, m.latents);
  gp.image_path = png.c_str();  // both
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);
  gp.image_path = nullptr;
  gp.image_width = 0;
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_INVALID_ARGUMENT);
  gp.image_rgb = nullptr;
  const std::string missing = (dir_ / "missing.png").string();
  gp.image_path = missing.c_str();
  EXPECT_EQ(sv_generate(model_, &gp), SV_ERROR_IO);
}

TEST_F(CApi, VideoWriterErrorsAndNoPartialFile) {
  sv_video_writer* w = nullptr;
  char err[256] = {0};
  EXPECT_EQ(sv_video_writer_open((dir_ / "a.mp4").c_str(), 15, 8, 8, &w, err, sizeof err), SV_ERROR_IO);
  EXPECT_NE(std::string(err).find("even width and height"), std::string::npos) << err;
  EXPECT_EQ(sv_video_writer_open((dir_ / "a.mp4").c_str(), 0, 8, 8, &w, err, sizeof err), SV_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sv_video_writer_open((dir_ / "a.xyz").c_str(), 16, 8, 8, &w, err, sizeof err), SV_ERROR_IO);
  EXPECT_EQ(w, nullptr);
  ASSERT_EQ(sv_video_writer_open((dir_ / "a.mp4").c_str(), 16, 8, 8, &w, err, sizeof err), SV_OK) << err;
  std::vector<uint8_t> rgb(16 * 8 * 3 * 4, 128);
  EXPECT_EQ(sv_video_writer_write_rgb8(w, rgb.data(), 4), SV_OK);
  EXPECT_EQ(sv_video_writer_write_rgb8(w, nullptr, 2), SV_ERROR_INVALID_ARGUMENT);
  sv_video_writer_free(w);  // unfinished: nothing left behind
  EXPECT_TRUE(fs::is_empty(dir_));
}

// Format limits are refused when the writer opens, not after the work: WebP frames stop at 16383.
// Two writers of one path (the first freed after the second opened) keep separate temporary files.
TEST_F(CApi, VideoWriterFormatLimitsAndOnePathTwice) {
  sv_video_writer* w = nullptr;
  char err[256] = {0};
  EXPECT_EQ(sv_video_writer_open((dir_ / "w.webp").c_str(), 16384, 8, 8, &w, err, sizeof err), SV_ERROR_IO);
  EXPECT_NE(std::string(err).find("16383"), std::string::npos) << err;
  sv_video_writer *a = nullptr, *b = nullptr;
  const std::string path = (dir_ / "same.gif").string();
  ASSERT_EQ(sv_video_writer_open(path.c_str(), 16, 8, 8, &a, err, sizeof err), SV_OK) << err;
  ASSERT_EQ(sv_video_writer_open(path.c_str(), 16, 8, 8, &b, err, sizeof err), SV_OK) << err;
  std::vector<uint8_t> rgb(16 * 8 * 3, 200);
  EXPECT_EQ(sv_video_writer_write_rgb8(b, rgb.data(), 1), SV_OK);
  sv_video_writer_free(a);  // unfinished: removes its own temporary file only
  EXPECT_EQ(sv_video_writer_finish(b), SV_OK) << sv_video_writer_last_error(b);
  sv_video_writer_free(b);
  EXPECT_TRUE(fs::exists(path));
}

// Frames of one generation (or the status when it fails); cancel_at > 0 stops after that step.
struct GenRun {
  Sink sink;
  int cancel_at = 0;
  sv_status status = SV_OK;
  std::string error;
};

int cancel_after(void* ud) {
  GenRun& r = *static_cast<GenRun*>(ud);
  return r.cancel_at > 0 && r.sink.steps >= r.cancel_at ? 1 : 0;
}

void step_count(int step, int, double, void* ud) { static_cast<GenRun*>(ud)->sink.steps = step; }

void frames_of(const float* rgb, int first, int count, int total, int h, int w, void* ud) {
  on_frames(rgb, first, count, total, h, w, &static_cast<GenRun*>(ud)->sink);
}

void generate_into(sv_model* m, uint64_t seed, GenRun& r) {
  sv_generate_params gp = sv_generate_default_params();
  gp.prompt = "a red circle moving left";
  gp.seed = seed;
  gp.steps = 6;
  gp.user_data = &r;
  gp.on_frames = frames_of;
  gp.on_step = step_count;
  gp.cancel = cancel_after;
  r.status = sv_generate(m, &gp);
  r.error = sv_model_last_error(m);
}

// Two generations at once, each on its own thread.
void generate_both(sv_model* ma, uint64_t sa, GenRun& ra, sv_model* mb, uint64_t sb, GenRun& rb) {
  std::thread ta([&] { generate_into(ma, sa, ra); });
  std::thread tb([&] { generate_into(mb, sb, rb); });
  ta.join();
  tb.join();
}

class CApiThreads : public CApi {
 protected:
  void SetUp() override {
    CApi::SetUp();
    if (IsSkipped()) return;
    sv_model_params mp = sv_model_default_params();
    mp.threads = 2;  // as the first: OpenBLAS keeps one process-wide thread count (sv.h)
    mp.device = "cpu";
    char err[512];
    ASSERT_EQ(sv_model_load(SV_TOY_MODEL, &mp, &second_, err, sizeof err), SV_OK) << err;
  }
  void TearDown() override {
    sv_model_free(second_);
    CApi::TearDown();
  }
  sv_model* second_ = nullptr;
};

// Two models in two threads give the bytes they give one after the other; cancelling one of them
// does not disturb the other.
TEST_F(CApiThreads, TwoModelsAtOnceEqualOneAfterTheOther) {
  GenRun a0, b0;
  generate_into(model_, 11, a0);
  generate_into(second_, 12, b0);
  ASSERT_EQ(a0.status, SV_OK) << a0.error;
  ASSERT_EQ(b0.status, SV_OK) << b0.error;
  GenRun a1, b1;
  generate_both(model_, 11, a1, second_, 12, b1);
  ASSERT_EQ(a1.status, SV_OK) << a1.error;
  ASSERT_EQ(b1.status, SV_OK) << b1.error;
  EXPECT_EQ(a1.sink.frames, a0.sink.frames);
  EXPECT_EQ(b1.sink.frames, b0.sink.frames);
  EXPECT_NE(a0.sink.frames, b0.sink.frames);

  GenRun a2, b2;
  a2.cancel_at = 2;
  generate_both(model_, 11, a2, second_, 12, b2);
  EXPECT_EQ(a2.status, SV_ERROR_CANCELLED);
  EXPECT_EQ(a2.error, "cancelled");
  ASSERT_EQ(b2.status, SV_OK) << b2.error;
  EXPECT_EQ(b2.sink.frames, b0.sink.frames);
}

// One model from two threads: the calls run one after the other, each with its own result and error.
TEST_F(CApiThreads, OneModelFromTwoThreadsSerialises) {
  GenRun a0;
  generate_into(model_, 21, a0);
  ASSERT_EQ(a0.status, SV_OK) << a0.error;
  GenRun a1, b1;
  b1.cancel_at = 3;
  generate_both(model_, 21, a1, model_, 22, b1);
  ASSERT_EQ(a1.status, SV_OK) << a1.error;
  EXPECT_EQ(a1.sink.frames, a0.sink.frames);
  EXPECT_EQ(a1.error, "");  // this thread's error, not the other's
  EXPECT_EQ(b1.status, SV_ERROR_CANCELLED);
  EXPECT_EQ(b1.error, "cancelled");
}

}  // namespace
}  // namespace sv
