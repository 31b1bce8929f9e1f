#include "core/host_cpu.h"

#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <thread>
#include <sstream>

namespace sv {

int cpus_from_cpu_max(const std::string& text) {
  std::istringstream in(text);
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0;
  try {
    size_t pos = 0;
    const long long q = std::stoll(quota, &pos);
    if (pos != quota.size() || q <= 0) return 0;
    const long long cpus = (q + period - 1) / period;
    return cpus > (1 << 20) ? 0 : static_cast<int>(cpus);
  } catch (const std::exception&) {
    return 0;
  }
}

int cpus_from_cfs(long long quota_us, long long period_us) {
  if (quota_us <= 0 || period_us <= 0) return 0;
  const long long cpus = (quota_us + period_us - 1) / period_us;
  return cpus > (1 << 20) ? 0 : static_cast<int>(cpus);
}

namespace {
long long read_ll(const std::string& path) {
  std::ifstream f(path);
  long long v = 0;
  return f >> v ? v : 0;
}
}  // namespace

int cgroup_cpu_limit() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  int best = 0;
  auto take = [&best](int c) {
    if (c > 0 && (best == 0 || c < best)) best = c;
  };
  while (std::getline(cg, line)) {
    // v1: "N:cpu,cpuacct:/path" (the hierarchy's own mount); its quota is on the group itself.
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b != std::string::npos && line.rfind("0::", 0) != 0) {
      const std::string ctrls = "," + line.substr(a + 1, b - a - 1) + ",";
      if (ctrls.find(",cpu,") == std::string::npos) continue;
      // Without a cgroup namespace the path is the host's (/docker/ID) while the container sees its own
      // group at the mount root, so every ancestor is tried; the smallest quota binds.
      std::string dir = line.substr(b + 1);
      while (true) {
        for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
          const std::string base = std::string(mount) + (dir == "/" ? "" : dir);
          take(cpus_from_cfs(read_ll(base + "/cpu.cfs_quota_us"), read_ll(base + "/cpu.cfs_period_us")));
        }
        if (dir.empty() || dir == "/") break;
        const size_t slash = dir.rfind('/');
        dir = slash == std::string::npos || slash == 0 ? std::string("/") : dir.substr(0, slash);
      }
      continue;
    }
    if (line.rfind("0::", 0) != 0) continue;
    // The group and each ancestor up to the root may carry a quota; the smallest one binds.
    std::string dir = line.substr(3);
    while (true) {
      std::ifstream f("/sys/fs/cgroup" + dir + "/cpu.max");
      std::string text;
      if (std::getline(f, text)) take(cpus_from_cpu_max(text));
      if (dir.empty() || dir == "/") break;
      const size_t slash = dir.rfind('/');
      dir = slash == std::string::npos || slash == 0 ? std::string("/") : dir.substr(0, slash);
    }
  }
  return best;
}

int default_cpu_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && v > 0 && v < 4096) return static_cast<int>(v);
  }
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  const int quota = cgroup_cpu_limit();
  if (quota > 0 && quota < n) n = quota;
  return n > 0 ? n : 1;
}

}  // namespace sv
