#include "core/host_memory.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace sv {
namespace {

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

}  // namespace

CgroupMemory cgroup_memory(const CgroupLayout& at) {
  CgroupMemory m;
  auto as_size = [](std::optional<long long> v) {
    return v && *v >= 0 ? static_cast<size_t>(*v) : std::numeric_limits<size_t>::max();
  };
  for (const std::string& dir : cgroup_dirs("memory", at)) {
    // v2 names, then v1's (whose "no limit" is a number near 2^63, above any real memory). Usage counts
    // the page cache, the mapped weights' included; its inactive part is reclaimed before the limit
    // bites, so it is subtracted as the container runtimes do (v2 inactive_file, v1 total_inactive_file:
    // both cover the group's descendants, like the usage figures).
    struct Files {
      const char *limit, *usage, *inactive;
    };
    for (const Files& f : {Files{"memory.max", "memory.current", "inactive_file"},
                           Files{"memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"}}) {
      const size_t limit = as_size(read_number_file(dir + "/" + f.limit));
      if (limit == std::numeric_limits<size_t>::max()) continue;
      m.limit = std::min(m.limit, limit);
      size_t used = as_size(read_number_file(dir + "/" + f.usage));
      if (used == std::numeric_limits<size_t>::max()) continue;
      const size_t inactive = as_size(read_keyed_number(dir + "/memory.stat", f.inactive));
      if (inactive != std::numeric_limits<size_t>::max()) used -= std::min(used, inactive);
      m.available = std::min(m.available, limit > used ? limit - used : 0);
    }
  }
  return m;
}

size_t host_total_bytes() { return std::min(meminfo_bytes("MemTotal:"), cgroup_memory().limit); }

size_t host_available_bytes() { return std::min(meminfo_bytes("MemAvailable:"), cgroup_memory().available); }

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
