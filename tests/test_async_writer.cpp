// The threaded video writer: frames reach the wrapped writer in order while the caller goes on,
// encoder errors surface at the next call, and an unfinished writer leaves no output.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "io/async_writer.h"
#include "test_util.h"

namespace sv {
namespace {

struct FakeWriter : io::VideoWriter {
  std::vector<float> firsts;  // first value of every clip, in arrival order
  int64_t n = 0;
  int fail_at = -1, calls = 0, sleep_ms = 2;
  bool finished = false;
  std::string tmp = "fake.tmp";
  std::atomic<int>* writes = nullptr;  // outlive the writer: what happened before destruction
  std::atomic<bool>* finished_out = nullptr;
  void write_frames(const Tensor& f) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (writes) ++*writes;
    SV_CHECK(calls++ != fail_at, "encoder failed");
    firsts.push_back(f.to_vector()[0]);
    n += f.size(1);
  }
  void write_rgb24(const uint8_t* rgb, int64_t count) override {
    firsts.push_back(-static_cast<float>(rgb[0]));  // negative: an 8-bit write
    n += count;
  }
  void finish() override {
    finished = true;
    if (finished_out) *finished_out = true;
  }
  int64_t frames_written() const override { return n; }
  const std::string& temp_path() const override { return tmp; }
};

Tensor clip(float v, int64_t frames) {
  std::vector<float> d(static_cast<size_t>(3 * frames * 2 * 2), v);
  return Tensor::from_vector(d, {3, frames, 2, 2});
}

TEST(AsyncVideoWriter, WritesEveryClipInOrder) {
  auto fake = std::make_unique<FakeWriter>();
  FakeWriter* f = fake.get();
  io::AsyncVideoWriter w(std::move(fake), 2);
  for (int i = 0; i < 20; ++i) w.write_frames(clip(static_cast<float>(i), 1 + i % 4));
  w.finish();
  ASSERT_EQ(f->firsts.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f->firsts[static_cast<size_t>(i)], static_cast<float>(i));
  EXPECT_TRUE(f->finished);
  int64_t total = 0;
  for (int i = 0; i < 20; ++i) total += 1 + i % 4;
  EXPECT_EQ(w.frames_written(), total);
}

// An 8-bit write waits for the queued clips, so mixed writes keep their order.
TEST(AsyncVideoWriter, Rgb24WritesKeepTheirPlace) {
  auto fake = std::make_unique<FakeWriter>();
  FakeWriter* f = fake.get();
  io::AsyncVideoWriter w(std::move(fake), 2);
  const std::vector<uint8_t> rgb(2 * 2 * 2 * 3, 9);
  w.write_frames(clip(1.0f, 1));
  w.write_frames(clip(2.0f, 3));
  w.write_rgb24(rgb.data(), 2);
  EXPECT_EQ(w.frames_written(), 6);
  w.write_frames(clip(3.0f, 1));
  w.finish();
  EXPECT_EQ(f->firsts, (std::vector<float>{1.0f, 2.0f, -9.0f, 3.0f}));
  EXPECT_EQ(w.frames_written(), 7);
}

TEST(AsyncVideoWriter, EncoderErrorSurfacesAndNothingIsFinished) {
  auto fake = std::make_unique<FakeWriter>();
  fake->fail_at = 3;
  FakeWriter* f = fake.get();
  io::AsyncVideoWriter w(std::move(fake), 1);
  bool threw = false;
  try {
    for (int i = 0; i < 50; ++i) w.write_frames(clip(1.0f, 1));
    w.finish();
  } catch (const Error& e) {
    threw = std::string(e.what()).find("encoder failed") != std::string::npos;
  }
  EXPECT_TRUE(threw);
  EXPECT_FALSE(f->finished);
}

// Dropped without finish (cancel, error): what is still queued is not written, and the wrapped
// writer is never finished (so it removes its temporary file).
TEST(AsyncVideoWriter, DroppedWithoutFinishDropsTheQueue) {
  std::atomic<int> writes{0};
  std::atomic<bool> finished{false};
  {
    auto fake = std::make_unique<FakeWriter>();
    fake->writes = &writes, fake->finished_out = &finished, fake->sleep_ms = 50;
    io::AsyncVideoWriter w(std::move(fake), 4);
    for (int i = 0; i < 5; ++i) w.write_frames(clip(1.0f, 2));
  }
  EXPECT_LT(writes.load(), 5);
  EXPECT_FALSE(finished.load());
}

TEST(AsyncVideoWriter, MisuseIsAnError) {
  io::AsyncVideoWriter w(std::make_unique<FakeWriter>(), 2);
  w.write_frames(clip(1.0f, 1));
  w.finish();
  EXPECT_EQ(w.frames_written(), 1);
  EXPECT_THROW(w.write_frames(clip(1.0f, 1)), Error);
  EXPECT_THROW(w.finish(), Error);
}

// With the real FFmpeg writer: a PNG folder gets every frame, and a dropped MP4 leaves no file.
TEST(AsyncVideoWriter, RealWriterPngFolderAndDroppedMp4) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("sv_async_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  io::VideoWriter::Options o;
  o.width = 16, o.height = 16, o.fps = 8;
  std::vector<float> d(static_cast<size_t>(3 * 4 * 16 * 16), 0.25f);
  {
    io::AsyncVideoWriter w(io::VideoWriter::open(dir.string() + "/", o));
    for (int i = 0; i < 3; ++i) w.write_frames(Tensor::from_vector(d, {3, 4, 16, 16}));
    w.finish();
    EXPECT_EQ(w.frames_written(), 12);
  }
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(dir)) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, 12);
  fs::remove_all(dir);
  const fs::path mp4 = fs::temp_directory_path() / ("sv_async_" + std::to_string(::getpid()) + ".mp4");
  std::string tmp;
  {
    io::AsyncVideoWriter w(io::VideoWriter::open(mp4.string(), o));
    tmp = w.temp_path();
    w.write_frames(Tensor::from_vector(d, {3, 4, 16, 16}));
    EXPECT_TRUE(fs::exists(tmp));
  }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_FALSE(fs::exists(mp4));
}

}  // namespace
}  // namespace sv
