// `sana-video serve`: loads the model once and serves the OpenAI-style videos API (http_api.cpp) over a
// job queue (jobs.cpp). A thin shell over the C API, like the CLI's generate.
#include <httplib.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "http_api.h"
#include "jobs.h"

namespace sv::server {
namespace fs = std::filesystem;

namespace {

const char* kServeUsage =
    "usage: sana-video serve [-m PIPELINE_DIR] [--host 127.0.0.1] [--port 8080] [--device cpu|cuda|cuda:N]\n"
    "    [--dtype fp32|bf16] [--threads N] [--max-queue 16] [--api-key KEY] [--cache-dir DIR] [--cache-max-mb 4096]\n"
    "    [--max-body-mb 16] [--max-pixels 1638400] [--max-frames 257] [--max-steps 100] [--max-seconds 600]\n"
    "    [--long] [--model-name NAME]\n"
    "  OpenAI-style videos API: POST /v1/videos, GET /v1/videos[/{id}[/content]], DELETE /v1/videos/{id},\n"
    "  POST /v1/videos/{id}/prompt (long videos), GET /v1/models, GET /health, and a web page at /.\n"
    "  --long: every job block-wise (LongSANA; the default for a LongLive checkpoint). --api-key (or\n"
    "  $SANA_VIDEO_API_KEY): /v1/* need 'Authorization: Bearer KEY'. Binds to loopback unless --host says otherwise.\n";

struct ServeError {
  std::string message;
};

long long number(const std::string& opt, const std::string& v, long long lo, long long hi) {
  try {
    size_t pos = 0;
    const long long n = std::stoll(v, &pos);
    if (pos == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  throw ServeError{"serve: " + opt + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'"};
}

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "sana-video" / "server").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "sana-video" / "server").string();
  return "sana-video-server-cache";
}

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
  std::string model_dir, host = "127.0.0.1", device, dtype, cache_dir = default_cache_dir(), model_name;
  int port = 8080, threads = 0;
  size_t max_queue = 16, max_body_mb = 16;
  int64_t cache_max_bytes = int64_t(4096) << 20;
  ApiOptions api;
  if (const char* k = std::getenv("SANA_VIDEO_API_KEY")) api.api_key = k;
  try {
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "-h" || a == "--help") {
        std::fputs(kServeUsage, stdout);
        return 0;
      }
      if (a == "--long") {
        api.long_mode = true;
        continue;
      }
      if (i + 1 >= argv.size()) throw ServeError{"serve: option " + a + " needs a value (see serve --help)"};
      const std::string& v = argv[++i];
      if (a == "-m" || a == "--model") model_dir = v;
      else if (a == "--host") host = v;
      else if (a == "--port") port = static_cast<int>(number(a, v, 0, 65535));
      else if (a == "--device") device = v;
      else if (a == "--dtype") dtype = v;
      else if (a == "--threads") threads = static_cast<int>(number(a, v, 0, 1024));
      else if (a == "--max-queue") max_queue = static_cast<size_t>(number(a, v, 1, 100000));
      else if (a == "--api-key") api.api_key = v;
      else if (a == "--cache-dir") cache_dir = v;
      else if (a == "--cache-max-mb") {  // fractions allowed (tests use a few KiB)
        char* end = nullptr;
        const double mb = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(mb > 0 && mb <= 1e9))
          throw ServeError{"serve: --cache-max-mb must be a positive number, got '" + v + "'"};
        cache_max_bytes = static_cast<int64_t>(mb * 1048576.0);
      }
      else if (a == "--max-body-mb") max_body_mb = static_cast<size_t>(number(a, v, 1, 4096));
      else if (a == "--max-pixels") api.max_pixels = number(a, v, 1, int64_t(1) << 32);
      else if (a == "--max-frames") api.max_frames = static_cast<int>(number(a, v, 1, 100000));
      else if (a == "--max-steps") api.max_steps = static_cast<int>(number(a, v, 1, 1000));
      else if (a == "--max-seconds") api.max_seconds = static_cast<double>(number(a, v, 1, 86400));
      else if (a == "--model-name") model_name = v;
      else throw ServeError{"serve: unknown option '" + a + "' (see serve --help)"};
    }
  } catch (const ServeError& e) {
    std::fprintf(stderr, "sana-video: error: %s\n", e.message.c_str());
    return 2;
  }
  if (model_dir.empty()) {
    const char* d = sv_default_model_dir();
    if (!d) {
      std::fputs("sana-video: error: serve: no model given (-m) and no embedded toy model found\n", stderr);
      return 2;
    }
    model_dir = d;
  }
  // SIGINT/SIGTERM write a byte to a pipe that a stopper thread reads. A handler, not sigwait with the
  // signals blocked: threads the libraries start before main (OpenBLAS's) have them unblocked, and the
  // kernel may deliver a signal to any such thread.
  // The first signal stops cleanly; a second one (SA_RESETHAND) takes the default action, should the
  // clean stop hang.
  static int stop_pipe[2] = {-1, -1};
  if (pipe2(stop_pipe, O_CLOEXEC) != 0 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
    std::fputs("sana-video: error: serve: cannot create the stop pipe\n", stderr);
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    const int saved = errno;
    const char b = 1;
    ssize_t r = write(stop_pipe[1], &b, 1);  // async-signal-safe
    (void)r;
    errno = saved;
  };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sv_model_params mp = sv_model_default_params();
  mp.threads = threads;
  mp.device = device.c_str();
  mp.dtype = dtype.c_str();
  sv_model* model = nullptr;
  char err[1024] = {0};
  if (sv_model_load(model_dir.c_str(), &mp, &model, err, sizeof err) != SV_OK) {
    std::fprintf(stderr, "sana-video: error: %s\n", err);
    return 1;
  }
  api.model_id = model_name.empty() ? fs::path(model_dir).lexically_normal().filename().string() : model_name;
  if (api.model_id.empty()) api.model_id = fs::path(model_dir).lexically_normal().parent_path().filename().string();
  api.started_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  int rc = 0;
  {
    // The port first: a second server on the same cache directory must fail before it touches the jobs.
    httplib::Server svr;
    // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server share the port.
    svr.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    svr.set_payload_max_length(max_body_mb << 20);
    svr.set_read_timeout(30, 0);
    svr.set_write_timeout(30, 0);
    if (!svr.bind_to_port(host.c_str(), port)) {
      std::fprintf(stderr, "sana-video: error: serve: cannot listen on %s:%d\n", host.c_str(), port);
      sv_model_free(model);
      return 1;
    }
    JobManager::Options jo;
    jo.cache_dir = cache_dir;
    jo.max_queue = max_queue;
    jo.cache_max_bytes = cache_max_bytes;
    std::unique_ptr<JobManager> jobs;
    try {
      jobs = std::make_unique<JobManager>(model, jo);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sana-video: error: serve: cache directory %s: %s\n", cache_dir.c_str(), e.what());
      sv_model_free(model);
      return 1;
    }
    install_routes(svr, *jobs, model, api);
    // A signal may come before listening starts (stop() is then a no-op): keep stopping until it ends.
    std::atomic<bool> done{false};
    std::thread stopper([&svr, &done, &jobs] {
      char b = 0;
      while (read(stop_pipe[0], &b, 1) < 0 && errno == EINTR) {
      }
      jobs->stop();  // the running job fails now, not after the connections drain
      while (!done) {
        svr.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    std::printf("sana-video serve: %s (%s) on http://%s:%d/ (cache %s)\n", api.model_id.c_str(), sv_model_device(model),
                host.c_str(), port, cache_dir.c_str());
    std::fflush(stdout);
    if (!svr.listen_after_bind()) rc = 1;
    done = true;
    const char b = 0;
    if (write(stop_pipe[1], &b, 1) < 0) std::perror("sana-video: serve: stop pipe");  // wakes it if no signal came
    stopper.join();
  }  // the job manager stops here: a running job is cancelled and marked failed
  sv_model_free(model);
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  return rc;
}

}  // namespace sv::server
