// Where this process's cgroup limits are, found one way for every controller. A container without its
// own cgroup namespace reads the host's path (/docker/ID) in /proc/self/cgroup, while its hierarchy
// shows its own group at the mount root; so the group and each of its ancestors are looked at, and the
// callers take the tightest limit found.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sv {

// The files read; tests point them at a made-up tree.
struct CgroupLayout {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string root = "/sys/fs/cgroup";
};

// Directories that may hold `controller`'s limits, innermost first: the v2 group and its ancestors
// under root, and where a v1 hierarchy carries the controller, the same walk under that hierarchy's
// mount (root/"cpu,cpuacct", and root/"cpu" as the usual link to it). Directories that do not exist are
// listed too; their files read as no limit.
std::vector<std::string> cgroup_dirs(const std::string& controller, const CgroupLayout& at = {});

// The number in a one-value file (cgroup limits and counters); nullopt when missing, malformed or "max".
std::optional<long long> read_number_file(const std::string& path);
// The value of `key` in a "key value" per line file (memory.stat); nullopt when absent.
std::optional<long long> read_keyed_number(const std::string& path, const std::string& key);

}  // namespace sv
