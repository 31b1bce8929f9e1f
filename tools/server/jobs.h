// The server's job queue over the C API: a bounded FIFO, one generation at a time on the model's device,
// progress and cancellation through the engine's callbacks, finished files in a cache directory with a
// size cap, and a job index persisted (atomically) so that a restart loses no finished video.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "sv/sv.h"

namespace sv::server {

// What a request asks for, already checked (sizes, frames, steps) against the model and the limits.
struct JobSpec {
  std::string prompt, negative_prompt, model;
  bool has_negative = false;  // absent: the model's own default (SANA-Video 2.0's release negative prompt)
  int width = 0, height = 0, frames = 0, fps = 0, steps = 0;
  double guidance_scale = -1;  // < 0: the model's default
  uint64_t seed = 0;
  std::string seconds;  // as reported back (the request's value, or the clip's length)
  bool long_video = false;
  int block_frames = 0;
  bool has_image = false;
};

struct PromptChange {
  int block = 0;
  double at_seconds = 0;
  std::string prompt;
};

nlohmann::json to_json(const std::vector<PromptChange>& changes);

struct Job {
  std::string id;
  JobSpec spec;
  std::string status = "queued";  // queued, in_progress, completed, failed
  int progress = 0;
  int64_t created_at = 0, completed_at = 0;  // unix seconds; 0 = not yet
  std::string error_code, error_message;
  std::vector<PromptChange> prompt_changes;
  double seconds_encode = 0, seconds_denoise = 0, seconds_decode = 0;  // the engine's stage times
  // Runtime only (not persisted).
  std::string pending_prompt;  // applied at the next block of a running long job
  std::string applied_prompt;  // the engine reads it during the next_prompt call
  std::string partial_path;    // the growing file of a running long job
  bool cancel = false;
  int blocks_done = 0, blocks_total = 0;
};

class JobManager {
 public:
  struct Options {
    std::string cache_dir;
    size_t max_queue = 16;
    int64_t cache_max_bytes = int64_t(4) << 30;
  };
  JobManager(sv_model* model, Options opt);
  ~JobManager();  // stops the worker (a running job is cancelled and marked failed)
  // Refuses new jobs and cancels the running one (marked failed), without waiting: a clean stop calls it
  // before the HTTP server drains its keep-alive connections, which can take longer than a job.
  void stop();

  // Errors as (HTTP status, code, message); the job's snapshot otherwise.
  struct Refusal {
    int http_status;
    std::string code, message;
  };
  // image: the request's first-frame file bytes (may be empty).
  std::variant<Job, Refusal> create(const JobSpec& spec, const std::string& image);
  std::optional<Job> get(const std::string& id) const;
  std::vector<Job> list() const;  // oldest first
  bool remove(const std::string& id);  // cancels a queued or running job
  std::variant<Job, Refusal> change_prompt(const std::string& id, const std::string& prompt);
  // The finished file (video or thumbnail), or a running long job's growing file; "" if none.
  std::string content_path(const std::string& id, bool thumbnail, bool* partial) const;
  size_t queued() const;
  std::string running() const;

  static nlohmann::json to_json(const Job& j);  // the persisted form
  static Job from_json(const nlohmann::json& j);

 private:
  void worker();
  void run(const std::shared_ptr<Job>& job);
  void persist_locked() const;
  void load_locked();
  void evict_locked(const std::string& keep);
  void remove_files(const std::string& id) const;
  std::string video_path(const std::string& id) const;
  std::string thumb_path(const std::string& id) const;
  std::string input_path(const std::string& id) const;

  sv_model* model_;
  Options opt_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::shared_ptr<Job> current_;
  bool stop_ = false;
  std::thread thread_;
  int lock_fd_ = -1;  // flock on <cache>/lock: one server per cache directory
};

}  // namespace sv::server
