#include "jobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace sv::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(now_s())};
  char buf[40];
  std::snprintf(buf, sizeof buf, "video_%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

int64_t file_size(const std::string& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

// Everything the engine's callbacks need for one job.
struct RunState {
  std::mutex* mu;
  Job* job;
  bool* stop;
  std::string thumb;
  bool thumb_done = false;
};

void on_progress(const char* stage, int step, int total, double, double, void* ud) {
  auto& r = *static_cast<RunState*>(ud);
  if (total <= 0) return;
  const std::string s = stage;
  std::lock_guard<std::mutex> lock(*r.mu);
  int p = r.job->progress;
  if (r.job->spec.long_video) {
    if (s == "block") {
      p = 2 + 97 * step / total;
      r.job->blocks_done = step;
      r.job->blocks_total = total;
    } else if (s == "encode") {
      p = 2 * step / total;
    }
  } else if (s == "encode") {
    p = 5 * step / total;
  } else if (s == "denoise") {
    p = 5 + 85 * step / total;
  } else if (s == "decode") {
    p = 90 + 9 * step / total;
  }
  r.job->progress = std::min(99, std::max(r.job->progress, p));
}

int on_cancel(void* ud) {
  auto& r = *static_cast<RunState*>(ud);
  std::lock_guard<std::mutex> lock(*r.mu);
  return r.job->cancel || *r.stop ? 1 : 0;
}

const char* on_next_prompt(int block, double start_s, void* ud) {
  auto& r = *static_cast<RunState*>(ud);
  std::lock_guard<std::mutex> lock(*r.mu);
  Job& j = *r.job;
  if (j.pending_prompt.empty()) return nullptr;
  j.applied_prompt = std::move(j.pending_prompt);
  j.pending_prompt.clear();
  j.prompt_changes.push_back({block, start_s, j.applied_prompt});
  return j.applied_prompt.c_str();  // copied by the engine during this call
}

void on_partial(const char* path, void* ud) {
  auto& r = *static_cast<RunState*>(ud);
  std::lock_guard<std::mutex> lock(*r.mu);
  r.job->partial_path = path;
}

// The first frame as the job's thumbnail (PNG), written through the engine's writer.
void on_frames(const float* rgb, int first, int count, int, int height, int width, void* ud) {
  auto& r = *static_cast<RunState*>(ud);
  if (r.thumb_done || first != 0 || count < 1) return;
  r.thumb_done = true;
  std::vector<uint8_t> px(size_t(height) * width * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(std::nearbyint(rgb[i] * 255.0f));
  const std::string dir = r.thumb + ".d/";
  sv_video_writer* w = nullptr;
  char err[256];
  if (sv_video_writer_open(dir.c_str(), width, height, 1, &w, err, sizeof err) != SV_OK) return;
  const bool ok = sv_video_writer_write_rgb8(w, px.data(), 1) == SV_OK && sv_video_writer_finish(w) == SV_OK;
  sv_video_writer_free(w);
  std::error_code ec;
  if (ok) fs::rename(dir + "frame_00000.png", r.thumb, ec);
  fs::remove_all(dir, ec);
}

}  // namespace

JobManager::JobManager(sv_model* model, Options opt) : model_(model), opt_(std::move(opt)) {
  fs::create_directories(fs::path(opt_.cache_dir) / "videos");
  fs::create_directories(fs::path(opt_.cache_dir) / "inputs");
  const std::string lock = (fs::path(opt_.cache_dir) / "lock").string();
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw std::runtime_error("in use by another sana-video server (" + lock + " is locked)");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_locked();
  }
  thread_ = std::thread([this] { worker(); });
}

void JobManager::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

JobManager::~JobManager() {
  stop();
  if (thread_.joinable()) thread_.join();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string JobManager::video_path(const std::string& id) const { return (fs::path(opt_.cache_dir) / "videos" / (id + ".mp4")).string(); }
std::string JobManager::thumb_path(const std::string& id) const { return (fs::path(opt_.cache_dir) / "videos" / (id + ".png")).string(); }
std::string JobManager::input_path(const std::string& id) const { return (fs::path(opt_.cache_dir) / "inputs" / (id + ".img")).string(); }

void JobManager::remove_files(const std::string& id) const {
  std::error_code ec;
  fs::remove(video_path(id), ec);
  fs::remove(thumb_path(id), ec);
  fs::remove(input_path(id), ec);
}

json to_json(const std::vector<PromptChange>& changes) {
  json out = json::array();
  for (const PromptChange& c : changes) out.push_back({{"block", c.block}, {"at_seconds", c.at_seconds}, {"prompt", c.prompt}});
  return out;
}

json JobManager::to_json(const Job& j) {
  const JobSpec& s = j.spec;
  return {{"id", j.id}, {"status", j.status}, {"progress", j.progress}, {"created_at", j.created_at},
          {"completed_at", j.completed_at}, {"error_code", j.error_code}, {"error_message", j.error_message},
          {"prompt_changes", sv::server::to_json(j.prompt_changes)}, {"prompt", s.prompt},
          {"negative_prompt", s.has_negative ? json(s.negative_prompt) : json(nullptr)},
          {"model", s.model}, {"width", s.width}, {"height", s.height}, {"frames", s.frames}, {"fps", s.fps},
          {"steps", s.steps}, {"guidance_scale", s.guidance_scale}, {"seed", s.seed}, {"seconds", s.seconds},
          {"long_video", s.long_video}, {"block_frames", s.block_frames}, {"has_image", s.has_image},
          {"blocks_done", j.blocks_done}, {"blocks_total", j.blocks_total}, {"seconds_encode", j.seconds_encode},
          {"seconds_denoise", j.seconds_denoise}, {"seconds_decode", j.seconds_decode}};
}

Job JobManager::from_json(const json& v) {
  Job j;
  j.id = v.at("id").get<std::string>();
  j.status = v.at("status").get<std::string>();
  j.progress = v.value("progress", 0);
  j.created_at = v.value("created_at", int64_t(0));
  j.completed_at = v.value("completed_at", int64_t(0));
  j.error_code = v.value("error_code", "");
  j.error_message = v.value("error_message", "");
  for (const json& c : v.value("prompt_changes", json::array()))
    j.prompt_changes.push_back({c.at("block").get<int>(), c.at("at_seconds").get<double>(), c.at("prompt").get<std::string>()});
  JobSpec& s = j.spec;
  s.prompt = v.value("prompt", "");
  if (v.contains("negative_prompt") && v["negative_prompt"].is_string())
    s.negative_prompt = v["negative_prompt"].get<std::string>(), s.has_negative = true;
  s.model = v.value("model", "");
  s.width = v.value("width", 0), s.height = v.value("height", 0), s.frames = v.value("frames", 0);
  s.fps = v.value("fps", 0), s.steps = v.value("steps", 0);
  s.guidance_scale = v.value("guidance_scale", -1.0);
  s.seed = v.value("seed", uint64_t(0));
  s.seconds = v.value("seconds", "");
  s.long_video = v.value("long_video", false);
  s.block_frames = v.value("block_frames", 0);
  s.has_image = v.value("has_image", false);
  j.blocks_done = v.value("blocks_done", 0);
  j.blocks_total = v.value("blocks_total", 0);
  j.seconds_encode = v.value("seconds_encode", 0.0);
  j.seconds_denoise = v.value("seconds_denoise", 0.0);
  j.seconds_decode = v.value("seconds_decode", 0.0);
  return j;
}

// jobs.json, written to a temporary file and renamed: a crash leaves the old or the new index.
void JobManager::persist_locked() const {
  json all = json::array();
  for (const auto& [id, j] : jobs_) all.push_back(to_json(*j));
  const fs::path p = fs::path(opt_.cache_dir) / "jobs.json";
  const std::string tmp = p.string() + ".tmp";
  {
    const std::string text = all.dump(1, ' ', false, json::error_handler_t::replace);
    FILE* f = std::fopen(tmp.c_str(), "wb");
    const bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                    ::fsync(::fileno(f)) == 0;
    if (f) std::fclose(f);
    if (!ok) {  // the previous index stays in place
      std::fprintf(stderr, "sana-video serve: cannot write %s\n", tmp.c_str());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) std::fprintf(stderr, "sana-video serve: cannot replace %s: %s\n", p.string().c_str(), ec.message().c_str());
}

// A restart keeps every finished video; jobs that were queued or running are failed, their files gone.
void JobManager::load_locked() {
  const fs::path p = fs::path(opt_.cache_dir) / "jobs.json";
  if (fs::exists(p)) {
    json all;
    try {
      std::ifstream f(p);
      all = json::parse(f);
      std::vector<std::shared_ptr<Job>> loaded;
      for (const json& v : all) loaded.push_back(std::make_shared<Job>(from_json(v)));
      for (const auto& j0 : loaded) {
        auto j = j0;
        if (j->status == "queued" || j->status == "in_progress") {
          j->status = "failed";
          j->error_code = "server_restarted";
          j->error_message = "the server restarted before this video was finished";
          j->completed_at = now_s();
        } else if (j->status == "completed" && !fs::exists(video_path(j->id))) {
          continue;  // its file is gone: nothing to serve
        }
        jobs_[j->id] = j;
      }
    } catch (const std::exception& e) {
      // Keep the files and the bad index for a person to look at; start with an empty index.
      const std::string aside = p.string() + ".unreadable-" + std::to_string(now_s());
      std::error_code ec;
      fs::rename(p, aside, ec);
      std::fprintf(stderr, "sana-video serve: the job index %s is unreadable (%s); moved to %s, cached files kept\n",
                   p.string().c_str(), e.what(), aside.c_str());
      jobs_.clear();
      persist_locked();
      return;
    }
  }
  // Leftovers of an interrupted run (partial files, inputs of failed jobs).
  for (const char* sub : {"videos", "inputs"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(opt_.cache_dir) / sub, ec)) {
      const std::string name = e.path().filename().string();
      const std::string id = name.substr(0, name.find('.'));
      auto it = jobs_.find(id);
      const bool keep = it != jobs_.end() && it->second->status == "completed" &&
                        (e.path() == fs::path(video_path(id)) || e.path() == fs::path(thumb_path(id)));
      if (!keep) fs::remove_all(e.path(), ec);
    }
  }
  persist_locked();
}

std::variant<Job, JobManager::Refusal> JobManager::create(const JobSpec& spec, const std::string& image) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) return Refusal{503, "server_shutting_down", "the server is shutting down"};
  if (queue_.size() >= opt_.max_queue)
    return Refusal{429, "queue_full", "the job queue is full (" + std::to_string(opt_.max_queue) + " waiting); retry later"};
  auto j = std::make_shared<Job>();
  do j->id = new_id();
  while (jobs_.count(j->id));
  j->spec = spec;
  j->created_at = now_s();
  if (spec.has_image) {
    std::ofstream f(input_path(j->id), std::ios::binary | std::ios::trunc);
    f.write(image.data(), static_cast<std::streamsize>(image.size()));
    if (!f) {
      f.close();
      std::error_code ec;
      fs::remove(input_path(j->id), ec);
      return Refusal{500, "server_error", "cannot store the input image"};
    }
  }
  jobs_[j->id] = j;
  queue_.push_back(j);
  persist_locked();
  const Job snap = *j;
  lock.unlock();
  cv_.notify_all();
  return snap;
}

std::optional<Job> JobManager::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return *it->second;
}

std::vector<Job> JobManager::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Job> out;
  for (const auto& [id, j] : jobs_) out.push_back(*j);
  std::stable_sort(out.begin(), out.end(), [](const Job& a, const Job& b) { return a.created_at < b.created_at; });
  return out;
}

bool JobManager::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  std::shared_ptr<Job> j = it->second;
  jobs_.erase(it);
  j->cancel = true;  // a running job stops at its next step; the worker removes its files
  queue_.erase(std::remove(queue_.begin(), queue_.end(), j), queue_.end());
  if (j != current_) remove_files(id);
  persist_locked();
  return true;
}

std::variant<Job, JobManager::Refusal> JobManager::change_prompt(const std::string& id, const std::string& prompt) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Refusal{404, "video_not_found", "no video with id '" + id + "'"};
  Job& j = *it->second;
  if (!j.spec.long_video) return Refusal{400, "invalid_request", "prompt changes apply to long (block-wise) videos only"};
  if (j.status == "queued") {
    j.spec.prompt = prompt;  // not started: the whole video uses it
    persist_locked();
  } else if (j.status == "in_progress") {
    j.pending_prompt = prompt;  // from the next block on
  } else {
    return Refusal{409, "video_finished", "video '" + id + "' is " + j.status + "; its prompt can no longer change"};
  }
  return j;
}

std::string JobManager::content_path(const std::string& id, bool thumbnail, bool* partial) const {
  std::lock_guard<std::mutex> lock(mu_);
  *partial = false;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return "";
  const Job& j = *it->second;
  if (j.status == "completed") return thumbnail ? (fs::exists(thumb_path(id)) ? thumb_path(id) : "") : video_path(id);
  if (!thumbnail && j.status == "in_progress" && j.spec.long_video && !j.partial_path.empty()) {
    *partial = true;
    return j.partial_path;
  }
  return "";
}

size_t JobManager::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

std::string JobManager::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_ ? current_->id : "";
}

void JobManager::worker() {
  for (;;) {
    std::shared_ptr<Job> j;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      j = queue_.front();
      queue_.pop_front();
      current_ = j;
      j->status = "in_progress";
      persist_locked();
    }
    try {
      run(j);
    } catch (const std::exception& e) {  // never let one job take the server down
      std::fprintf(stderr, "sana-video serve: job %s: %s\n", j->id.c_str(), e.what());
      std::lock_guard<std::mutex> lock(mu_);
      if (j->status == "in_progress") j->status = "failed", j->error_code = "server_error", j->error_message = e.what();
    }
    std::lock_guard<std::mutex> lock(mu_);
    current_.reset();
  }
}

void JobManager::run(const std::shared_ptr<Job>& j) {
  std::string prompt, negative, out, image;
  bool has_negative = false;
  sv_generate_params gp = sv_generate_default_params();
  RunState rs{&mu_, j.get(), &stop_, thumb_path(j->id)};
  {
    std::lock_guard<std::mutex> lock(mu_);
    const JobSpec& s = j->spec;
    prompt = s.prompt, negative = s.negative_prompt, has_negative = s.has_negative, out = video_path(j->id);
    if (s.has_image) image = input_path(j->id);
    gp.width = s.width, gp.height = s.height, gp.frames = s.frames, gp.fps = s.fps, gp.steps = s.steps;
    gp.guidance_scale = static_cast<float>(s.guidance_scale);
    gp.seed = s.seed;
    gp.long_video = s.long_video;
    gp.block_frames = s.block_frames;
  }
  gp.prompt = prompt.c_str();
  gp.negative_prompt = has_negative ? negative.c_str() : nullptr;  // null: the model's default
  gp.image_path = image.empty() ? nullptr : image.c_str();
  gp.output_path = out.c_str();
  gp.user_data = &rs;
  gp.progress = on_progress;
  gp.cancel = on_cancel;
  gp.on_frames = on_frames;
  if (gp.long_video) {
    gp.next_prompt = on_next_prompt;
    gp.on_partial_file = on_partial;
  }
  const sv_status st = sv_generate(model_, &gp);
  const std::string err = sv_model_last_error(model_);
  std::lock_guard<std::mutex> lock(mu_);
  current_.reset();  // from here remove() deletes the files itself
  std::error_code ec;
  fs::remove(input_path(j->id), ec);
  j->spec.has_image = false;
  j->partial_path.clear();
  j->pending_prompt.clear();
  j->completed_at = now_s();
  if (!jobs_.count(j->id)) {  // deleted while running
    remove_files(j->id);
    return;
  }
  if (st == SV_OK) {
    j->seconds_encode = gp.seconds_encode, j->seconds_denoise = gp.seconds_denoise, j->seconds_decode = gp.seconds_decode;
    j->status = "completed";
    j->progress = 100;
    evict_locked(j->id);
  } else {
    evict_locked("");
    j->status = "failed";
    j->error_code = st == SV_ERROR_CANCELLED ? "cancelled" : st == SV_ERROR_INVALID_ARGUMENT ? "invalid_request" : "generation_failed";
    j->error_message = stop_ ? "the server stopped before this video was finished" : err;
    remove_files(j->id);
  }
  persist_locked();
}

// Oldest finished videos go first when the cache is over its cap (never the one just made); failed jobs'
// records beyond the newest 1000 go too.
void JobManager::evict_locked(const std::string& keep) {
  std::vector<std::shared_ptr<Job>> failed;
  for (const auto& [id, j] : jobs_)
    if (j->status == "failed") failed.push_back(j);
  if (failed.size() > 1000) {
    std::sort(failed.begin(), failed.end(), [](const auto& a, const auto& b) { return a->completed_at < b->completed_at; });
    for (size_t i = 0; i + 1000 < failed.size(); ++i) jobs_.erase(failed[i]->id);
  }
  std::vector<std::shared_ptr<Job>> done;
  int64_t total = 0;
  for (const auto& [id, j] : jobs_)
    if (j->status == "completed") {
      done.push_back(j);
      total += file_size(video_path(id)) + file_size(thumb_path(id));
    }
  std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) { return a->completed_at < b->completed_at; });
  for (const auto& j : done) {
    if (total <= opt_.cache_max_bytes) break;
    if (j->id == keep) continue;
    total -= file_size(video_path(j->id)) + file_size(thumb_path(j->id));
    remove_files(j->id);
    jobs_.erase(j->id);
  }
}

}  // namespace sv::server
