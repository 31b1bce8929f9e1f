// The cgroup limits read from made-up trees: the v2 and v1 layouts, a container that sees the host's
// path for its own group at the mount root, and limits on an ancestor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/cgroup.h"
#include "core/host_cpu.h"
#include "core/host_memory.h"

namespace sv {
namespace {

namespace fs = std::filesystem;

class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sv_cgroup_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root");
    at_.proc_self_cgroup = (dir_ / "cgroup").string();
    at_.root = (dir_ / "root").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void proc(const std::string& text) { std::ofstream(at_.proc_self_cgroup) << text; }
  void put(const std::string& rel, const std::string& text) {
    const fs::path p = dir_ / "root" / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  fs::path dir_;
  CgroupLayout at_;
};

TEST_F(CgroupTree, NumberFiles) {
  put("a", "123\n");
  put("b", "max\n");
  put("c", "12x\n");
  put("d", "");
  EXPECT_EQ(read_number_file(at_.root + "/a").value_or(-7), 123);
  EXPECT_FALSE(read_number_file(at_.root + "/b"));
  EXPECT_FALSE(read_number_file(at_.root + "/c"));
  EXPECT_FALSE(read_number_file(at_.root + "/d"));
  EXPECT_FALSE(read_number_file(at_.root + "/missing"));
}

TEST_F(CgroupTree, WalksTheGroupAndItsAncestors) {
  proc("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/user.slice/s\n");
  const std::vector<std::string> mem = cgroup_dirs("memory", at_);
  const std::vector<std::string> want_mem = {at_.root + "/memory/docker/abc", at_.root + "/memory/docker",
                                             at_.root + "/memory", at_.root + "/user.slice/s",
                                             at_.root + "/user.slice", at_.root};
  EXPECT_EQ(mem, want_mem);
  const std::vector<std::string> cpu = cgroup_dirs("cpu", at_);
  ASSERT_EQ(cpu.size(), 9u);
  EXPECT_EQ(cpu[0], at_.root + "/cpu,cpuacct/docker/abc");
  EXPECT_EQ(cpu[1], at_.root + "/cpu/docker/abc");
  EXPECT_EQ(cpu[5], at_.root + "/cpu");
}

// A v2 container without a cgroup namespace: /proc says /docker/abc, the limit is at the mount root.
TEST_F(CgroupTree, V2LimitAtTheMountRoot) {
  proc("0::/docker/abc\n");
  put("memory.max", "1073741824\n");
  put("memory.current", "268435456\n");
  put("memory.stat", "anon 1000\nfile 200000000\ninactive_file 67108864\nactive_file 5\n");
  put("cpu.max", "150000 100000\n");
  const CgroupMemory m = cgroup_memory(at_);
  EXPECT_EQ(m.limit, size_t(1) << 30);
  EXPECT_EQ(m.available, (size_t(1) << 30) - (size_t(192) << 20));  // usage 256 MiB less 64 MiB inactive cache
  EXPECT_EQ(cgroup_cpu_limit(at_), 2);
}

// The tightest of the group's and an ancestor's limits binds; "max" is no limit.
TEST_F(CgroupTree, V2TightestAncestor) {
  proc("0::/a/b\n");
  put("a/b/memory.max", "max\n");
  put("a/b/memory.current", "100\n");
  put("a/memory.max", "4096\n");
  put("a/memory.current", "1000\n");
  put("a/memory.stat", "anon 500\ninactive_file 300\n");
  put("memory.max", "8192\n");
  put("memory.current", "8000\n");
  put("a/b/cpu.max", "max 100000\n");
  put("a/cpu.max", "400000 100000\n");
  put("cpu.max", "50000 100000\n");
  const CgroupMemory m = cgroup_memory(at_);
  EXPECT_EQ(m.limit, 4096u);
  EXPECT_EQ(m.available, 192u);  // the root's 8192 - 8000 is tighter than a's 4096 - 1000
  EXPECT_EQ(cgroup_cpu_limit(at_), 1);
}

// cgroup v1: memory.limit_in_bytes (no limit is a number near 2^63) and the CFS quota pair.
TEST_F(CgroupTree, V1Limits) {
  proc("9:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n");
  put("memory/memory.limit_in_bytes", "9223372036854771712\n");
  put("memory/docker/abc/memory.limit_in_bytes", "2147483648\n");
  put("memory/docker/abc/memory.usage_in_bytes", "1610612736\n");
  // Half a GiB of the usage is inactive page cache, which the kernel reclaims before the limit bites.
  put("memory/docker/abc/memory.stat", "cache 900000000\ninactive_file 1\ntotal_inactive_file 536870912\n");
  put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
  put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  put("cpu,cpuacct/cpu.cfs_quota_us", "300000\n");
  put("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  const CgroupMemory m = cgroup_memory(at_);
  EXPECT_EQ(m.limit, size_t(2) << 30);
  EXPECT_EQ(m.available, size_t(1) << 30);
  EXPECT_EQ(cgroup_cpu_limit(at_), 3);
}

TEST_F(CgroupTree, NoCgroupsNoLimits) {
  proc("");
  const CgroupMemory m = cgroup_memory(at_);
  EXPECT_EQ(m.limit, std::numeric_limits<size_t>::max());
  EXPECT_EQ(m.available, std::numeric_limits<size_t>::max());
  EXPECT_EQ(cgroup_cpu_limit(at_), 0);
  // This machine's own figures stay within its MemTotal.
  EXPECT_GT(host_total_bytes(), 0u);
  EXPECT_LE(host_available_bytes(), host_total_bytes() + (size_t(1) << 30));
}

}  // namespace
}  // namespace sv
