// Host memory a new allocation can count on: the kernel's MemAvailable, capped by the process's cgroups
// (limit - usage, v2 or v1, on the group or any ancestor) where they have a limit. Used to refuse work
// that cannot fit before allocating anything.
#pragma once
#include <cstddef>
#include <limits>

#include "core/cgroup.h"

namespace sv {

size_t host_available_bytes();
// All the memory the process could ever have: MemTotal, capped by the tightest cgroup limit.
size_t host_total_bytes();

// The tightest memory limit on this process's cgroups and what is left under it (v2 memory.max -
// memory.current, v1 memory.limit_in_bytes - memory.usage_in_bytes, the usage less its inactive page
// cache from memory.stat); SIZE_MAX where none.
struct CgroupMemory {
  size_t limit = std::numeric_limits<size_t>::max();
  size_t available = std::numeric_limits<size_t>::max();
};
CgroupMemory cgroup_memory(const CgroupLayout& at = {});
// The process's peak resident set (VmHWM) and its reset to the current resident set (Linux 4.0's
// clear_refs "5"; false where refused): what the memory estimates are calibrated and tested against.
size_t host_peak_rss_bytes();
bool reset_host_peak_rss();

}  // namespace sv
