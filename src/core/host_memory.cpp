#include "core/host_memory.h"

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

}  // namespace

size_t host_total_bytes() {
  size_t total = std::numeric_limits<size_t>::max();
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char key[64];
    unsigned long long kb = 0;
    while (std::fscanf(f, "%63s %llu kB\n", key, &kb) == 2)
      if (std::strcmp(key, "MemTotal:") == 0) {
        total = static_cast<size_t>(kb) * 1024;
        break;
      }
    std::fclose(f);
  }
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) total = std::min(total, read_bytes("/sys/fs/cgroup" + line.substr(3) + "/memory.max"));
  return total;
}

size_t host_available_bytes() {
  size_t avail = std::numeric_limits<size_t>::max();
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char key[64];
    unsigned long long kb = 0;
    while (std::fscanf(f, "%63s %llu kB\n", key, &kb) == 2)
      if (std::strcmp(key, "MemAvailable:") == 0) {
        avail = static_cast<size_t>(kb) * 1024;
        break;
      }
    std::fclose(f);
  }
  // cgroup v2: this process's group (the unified hierarchy's path from /proc/self/cgroup).
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) {
      const std::string dir = "/sys/fs/cgroup" + line.substr(3);
      const size_t max = read_bytes(dir + "/memory.max"), cur = read_bytes(dir + "/memory.current");
      if (max != std::numeric_limits<size_t>::max() && cur != std::numeric_limits<size_t>::max())
        avail = std::min(avail, max > cur ? max - cur : size_t(0));
    }
  return avail;
}

}  // namespace sv
