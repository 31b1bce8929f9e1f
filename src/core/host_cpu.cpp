#include "core/host_cpu.h"

#include <fstream>
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

int cgroup_cpu_limit() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  int best = 0;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    // The group and each ancestor up to the root may carry a quota; the smallest one binds.
    std::string dir = line.substr(3);
    while (true) {
      std::ifstream f("/sys/fs/cgroup" + dir + "/cpu.max");
      std::string text;
      if (std::getline(f, text)) {
        const int c = cpus_from_cpu_max(text);
        if (c > 0 && (best == 0 || c < best)) best = c;
      }
      if (dir.empty() || dir == "/") break;
      const size_t slash = dir.rfind('/');
      dir = slash == std::string::npos || slash == 0 ? std::string("/") : dir.substr(0, slash);
    }
  }
  return best;
}

}  // namespace sv
