// Host memory a new allocation can count on: the kernel's MemAvailable, capped by the process's cgroup
// (v2 memory.max - memory.current) when it has a limit. Used to refuse work that cannot fit before
// allocating anything.
#pragma once
#include <cstddef>

namespace sv {

size_t host_available_bytes();
// All the memory the process could ever have: MemTotal, capped by the cgroup v2 memory.max.
size_t host_total_bytes();
// The process's peak resident set (VmHWM) and its reset to the current resident set (Linux 4.0's
// clear_refs "5"; false where refused): what the memory estimates are calibrated and tested against.
size_t host_peak_rss_bytes();
bool reset_host_peak_rss();

}  // namespace sv
