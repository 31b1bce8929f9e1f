#include "core/host_memory.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace sv {
namespace {

// A number from a one-line file ("max" or unreadable: no limit).
size_t read_bytes(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v == "max") return std::numeric_limits<size_t>::max();
  try {
    return static_cast<size_t>(std::stoull(v));
  } catch (const std::exception&) {
    return std::numeric_limits<size_t>::max();
  }
}

// A "Key:  N kB" line of /proc/meminfo in bytes (absent: no limit).
size_t meminfo_bytes(const char* key) {
  size_t bytes = std::numeric_limits<size_t>::max();
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char k[64];
    unsigned long long kb = 0;
    while (std::fscanf(f, "%63s %llu kB\n", k, &kb) == 2)
      if (std::strcmp(k, key) == 0) {
        bytes = static_cast<size_t>(kb) * 1024;
        break;
      }
    std::fclose(f);
  }
  return bytes;
}

// This process's cgroup v2 directory (the unified hierarchy's path from /proc/self/cgroup); "" if none.
std::string cgroup_v2_dir() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  return "";
}

}  // namespace

size_t host_total_bytes() {
  size_t total = meminfo_bytes("MemTotal:");
  const std::string dir = cgroup_v2_dir();
  if (!dir.empty()) total = std::min(total, read_bytes(dir + "/memory.max"));
  return total;
}

size_t host_available_bytes() {
  size_t avail = meminfo_bytes("MemAvailable:");
  const std::string dir = cgroup_v2_dir();
  if (!dir.empty()) {
    const size_t max = read_bytes(dir + "/memory.max"), cur = read_bytes(dir + "/memory.current");
    if (max != std::numeric_limits<size_t>::max() && cur != std::numeric_limits<size_t>::max())
      avail = std::min(avail, max > cur ? max - cur : size_t(0));
  }
  return avail;
}

size_t host_peak_rss_bytes() {
  size_t bytes = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
        bytes = static_cast<size_t>(kb) * 1024;
        break;
      }
    std::fclose(f);
  }
  return bytes;
}

bool reset_host_peak_rss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace sv
