#include "core/cgroup.h"

#include <fstream>

namespace sv {
namespace {

// dir (a cgroup path, "/" for the root) and each ancestor, each under every mount.
void add_walk(std::vector<std::string>& out, const std::vector<std::string>& mounts, std::string dir) {
  while (true) {
    for (const std::string& m : mounts) out.push_back(dir == "/" || dir.empty() ? m : m + dir);
    if (dir.empty() || dir == "/") return;
    const size_t slash = dir.rfind('/');
    dir = slash == std::string::npos || slash == 0 ? std::string("/") : dir.substr(0, slash);
  }
}

}  // namespace

std::vector<std::string> cgroup_dirs(const std::string& controller, const CgroupLayout& at) {
  std::vector<std::string> out;
  std::ifstream cg(at.proc_self_cgroup);
  std::string line;
  while (std::getline(cg, line)) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && ctrls.empty()) {  // v2: "0::/path"
      add_walk(out, {at.root}, path);
      continue;
    }
    if (("," + ctrls + ",").find("," + controller + ",") == std::string::npos) continue;
    std::vector<std::string> mounts{at.root + "/" + ctrls};
    if (ctrls != controller) mounts.push_back(at.root + "/" + controller);
    add_walk(out, mounts, path);
  }
  return out;
}

std::optional<long long> read_number_file(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v == "max") return std::nullopt;
  try {
    size_t pos = 0;
    const long long n = std::stoll(v, &pos);
    if (pos != v.size()) return std::nullopt;
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<long long> read_keyed_number(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string k;
  long long v = 0;
  while (f >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

}  // namespace sv
