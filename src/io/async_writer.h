// A VideoWriter that encodes on its own thread, so the video is written beside decoding rather than
// after it. Clips are queued (at most `depth` waiting, then write_frames blocks); an encoder error is
// raised by the next write_frames or by finish(). Destroying it without finish() drops what is
// queued and removes the temporary file, as the wrapped writer does.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "io/video_writer.h"

namespace sv::io {

class AsyncVideoWriter : public VideoWriter {
 public:
  explicit AsyncVideoWriter(std::unique_ptr<VideoWriter> inner, size_t depth = 2);
  ~AsyncVideoWriter() override;
  void write_frames(const Tensor& frames) override;  // frames must not be modified afterwards
  void write_rgb24(const uint8_t* rgb, int64_t count) override;  // after the queue drains, on this thread
  void finish() override;
  int64_t frames_written() const override;
  const std::string& temp_path() const override { return inner_->temp_path(); }

 private:
  void run();
  void rethrow_locked();
  void drain_locked(std::unique_lock<std::mutex>& lock);

  std::unique_ptr<VideoWriter> inner_;
  size_t depth_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Tensor> queue_;
  bool stop_ = false, busy_ = false;
  std::exception_ptr error_;
  int64_t written_ = 0;
  std::thread thread_;
};

}  // namespace sv::io
