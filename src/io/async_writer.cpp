#include "io/async_writer.h"

namespace sv::io {

AsyncVideoWriter::AsyncVideoWriter(std::unique_ptr<VideoWriter> inner, size_t depth)
    : inner_(std::move(inner)), depth_(depth > 0 ? depth : 1), thread_([this] { run(); }) {}

AsyncVideoWriter::~AsyncVideoWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AsyncVideoWriter::run() {
  for (;;) {
    Tensor clip;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopped
      clip = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    cv_.notify_all();  // room in the queue
    std::exception_ptr err;
    try {
      inner_->write_frames(clip);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      if (err) {
        error_ = err;
        queue_.clear();
      } else {
        written_ = inner_->frames_written();
      }
    }
    cv_.notify_all();
  }
}

void AsyncVideoWriter::rethrow_locked() {
  if (error_) std::rethrow_exception(error_);
}

// Waits until every queued clip is written (or an encoder error), then raises that error if any.
void AsyncVideoWriter::drain_locked(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
  rethrow_locked();
}

void AsyncVideoWriter::write_frames(const Tensor& frames) {
  std::unique_lock<std::mutex> lock(mu_);
  SV_CHECK(!stop_, "video writer: frames written after finish()");
  cv_.wait(lock, [&] { return error_ || queue_.size() < depth_; });
  rethrow_locked();
  queue_.push_back(frames);
  lock.unlock();
  cv_.notify_all();
}

void AsyncVideoWriter::write_rgb24(const uint8_t* rgb, int64_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  SV_CHECK(!stop_, "video writer: frames written after finish()");
  drain_locked(lock);
  inner_->write_rgb24(rgb, count);  // the writer thread is idle until the next write_frames
  written_ = inner_->frames_written();
}

void AsyncVideoWriter::finish() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    SV_CHECK(!stop_, "video writer: finish() called twice");
    drain_locked(lock);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  inner_->finish();
  std::lock_guard<std::mutex> lock(mu_);
  written_ = inner_->frames_written();
}

int64_t AsyncVideoWriter::frames_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace sv::io
