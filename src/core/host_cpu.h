// How many CPUs this process may really use: a container's cgroup v2 CPU quota (cpu.max) can be far
// below the cores the affinity mask shows, and running more threads than the quota makes every
// parallel region wait on descheduled threads.
#pragma once
#include <string>

namespace sv {

// CPUs allowed by a cgroup v2 cpu.max text ("QUOTA PERIOD", rounded up; "max ..." or malformed: 0 = no limit).
int cpus_from_cpu_max(const std::string& text);
// The tightest cpu.max quota on this process's cgroup path (0 = none).
int cgroup_cpu_limit();

}  // namespace sv
