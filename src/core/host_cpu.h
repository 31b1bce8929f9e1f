// How many CPUs this process may really use: a container's cgroup v2 CPU quota (cpu.max) can be far
// below the cores the affinity mask shows, and running more threads than the quota makes every
// parallel region wait on descheduled threads.
#pragma once
#include <string>

#include "core/cgroup.h"

namespace sv {

// CPUs allowed by a cgroup v2 cpu.max text ("QUOTA PERIOD", rounded up; "max ..." or malformed: 0 = no limit).
int cpus_from_cpu_max(const std::string& text);
// CPUs allowed by a cgroup v1 quota pair (cpu.cfs_quota_us, cpu.cfs_period_us; -1 = none): 0 = no limit.
int cpus_from_cfs(long long quota_us, long long period_us);
// The tightest CPU quota on this process's cgroup path and its ancestors, v2 (cpu.max) or v1
// (cpu.cfs_quota_us); 0 = none.
int cgroup_cpu_limit(const CgroupLayout& at = {});
// The CPU threads a context uses by default: OMP_NUM_THREADS when set (as the BLAS and PyTorch
// honour it), else the CPUs in this process's affinity mask, capped by the cgroup quota.
int default_cpu_threads();

}  // namespace sv
