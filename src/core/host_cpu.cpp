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

int cgroup_cpu_limit(const CgroupLayout& at) {
  int best = 0;
  auto take = [&best](int c) {
    if (c > 0 && (best == 0 || c < best)) best = c;
  };
  for (const std::string& dir : cgroup_dirs("cpu", at)) {
    std::ifstream f(dir + "/cpu.max");  // v2
    std::string text;
    if (std::getline(f, text)) take(cpus_from_cpu_max(text));
    const auto quota = read_number_file(dir + "/cpu.cfs_quota_us"), period = read_number_file(dir + "/cpu.cfs_period_us");
    if (quota && period) take(cpus_from_cfs(*quota, *period));  // v1
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
