// Tensor views, strides and dtype conversion.
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "core/allocator.h"
#include "core/context.h"
#include "core/host_cpu.h"
#include "core/host_memory.h"
#include "core/tensor.h"
#include "test_util.h"

namespace sv {
namespace {

Tensor iota(const Shape& s) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_vector(v, s);
}

TEST(Tensor, PermuteNarrowSelectContiguous) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});  // [4, 2, 3]
  EXPECT_EQ(p.shape(), Shape({4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  const auto v = p.contiguous().to_vector();
  // p[k, i, j] = t[i, j, k] = i*12 + j*4 + k
  EXPECT_EQ(v[(3 * 2 + 1) * 3 + 2], 1 * 12 + 2 * 4 + 3);
  Tensor n = t.narrow(2, 1, 2);  // [2, 3, 2]
  EXPECT_EQ(n.contiguous().to_vector()[5], 2 * 4 + 2);
  Tensor s = t.select(1, 2);  // [2, 4]
  EXPECT_EQ(s.shape(), Shape({2, 4}));
  EXPECT_EQ(s.contiguous().to_vector()[4], 12 + 8);
  EXPECT_EQ(t.reshape({6, -1}).shape(), Shape({6, 4}));
  EXPECT_THROW(p.reshape({24}), Error);
  EXPECT_THROW(t.reshape({5, -1}), Error);
  EXPECT_THROW(t.narrow(0, 1, 2), Error);
}

TEST(Tensor, DtypeRoundTrips) {
  Tensor t = Tensor::from_vector({1.0f, -2.5f, 3.140625f, 65504.0f, 1e-8f}, {5});
  const auto bf = t.to(DType::BF16).to(DType::F32).to_vector();
  EXPECT_EQ(bf[0], 1.0f);
  EXPECT_EQ(bf[1], -2.5f);
  EXPECT_EQ(bf[2], 3.140625f);
  const auto h = t.to(DType::F16).to(DType::F32).to_vector();
  EXPECT_EQ(h[3], 65504.0f);
  EXPECT_NEAR(h[4], 0.0f, 1e-7);
  // Round-to-nearest-even on bf16: 1 + 2^-8 is exactly halfway and rounds to 1.
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  const auto i = Tensor::from_vector({3.0f, -7.0f}, {2}).to(DType::I64);
  EXPECT_EQ(i.data<int64_t>()[1], -7);
}

TEST(Tensor, RejectsBadShapes) {
  EXPECT_THROW(Tensor::empty({-1, 3}), Error);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 40, int64_t(1) << 40}), Error);
}

// The caching allocator's accounting, which `sv-bench memory` reads beside the resident set: blocks held
// from the system (live + cached) by size class, the high-water mark, and the cache handed back.
TEST(CpuCachingAllocator, CountsHeldBytesAndReleasesTheCache) {
  CpuCachingAllocator a;
  const size_t big = size_t(3) << 20, cls = BlockCache::size_class(big);
  void* p = a.allocate(big);
  void* q = a.allocate(big);
  EXPECT_EQ(a.peak_held_bytes(), 2 * cls);
  a.deallocate(p, big);  // cached, still held
  EXPECT_EQ(a.cached_bytes(), cls);
  void* r = a.allocate(big);  // reuses the cached block: no new peak
  EXPECT_EQ(r, p);
  EXPECT_EQ(a.peak_held_bytes(), 2 * cls);
  a.deallocate(q, big);
  a.deallocate(r, big);
  a.reset_peak();
  EXPECT_EQ(a.peak_held_bytes(), 2 * cls);  // the cache is held
  a.release_cached();
  EXPECT_EQ(a.cached_bytes(), 0u);
  a.reset_peak();
  EXPECT_EQ(a.peak_held_bytes(), 0u);
}

// The reuse policy of both caching allocators (the CUDA one included), on made-up addresses: best fit
// up to 1.5x of the size class, exact accounting of a larger block handed out, the cap, the peaks.
TEST(BlockCache, BestFitUpToOneAndAHalfAndExactAccounting) {
  BlockCache c(size_t(1) << 30);
  char base[4];
  void *a = base, *b = base + 1, *d = base + 2;
  const size_t mib = size_t(1) << 20;
  EXPECT_EQ(BlockCache::size_class(mib), mib);
  EXPECT_EQ(BlockCache::size_class(mib + 1), mib + mib / 8);  // eight classes per power of two
  EXPECT_EQ(BlockCache::size_class(100), 128u);
  EXPECT_EQ(c.take(mib), nullptr);
  c.add_new(a, 2 * mib);
  c.add_new(b, 8 * mib);
  EXPECT_EQ(c.live_bytes(), 10 * mib);
  EXPECT_EQ(c.give_back(a), 0u);  // kept
  EXPECT_EQ(c.give_back(b), 0u);
  EXPECT_EQ(c.cached_bytes(), 10 * mib);
  EXPECT_EQ(c.take(mib), nullptr);          // 2 MiB is more than 1.5x of 1 MiB
  EXPECT_EQ(c.take(mib + mib / 2), a);      // ... but within 1.5x of 1.5 MiB
  EXPECT_EQ(c.cached_bytes(), 8 * mib);
  EXPECT_EQ(c.live_bytes(), 2 * mib);       // the block's own size, not the request's
  // Given back, the block counts (and is kept) at its own size, not the 1.5 MiB class it served.
  EXPECT_EQ(c.give_back(a), 0u);
  EXPECT_EQ(c.live_bytes(), 0u);
  EXPECT_EQ(c.cached_bytes(), 10 * mib);
  c.reset_peak();                           // nothing live: the asked peak starts again at 0
  EXPECT_EQ(c.take(2 * mib), a);            // the smallest block that fits
  EXPECT_EQ(c.take(6 * mib), b);            // an 8 MiB block for a 6 MiB class
  EXPECT_EQ(c.live_bytes(), 10 * mib);
  EXPECT_EQ(c.peak_asked_bytes(), 8 * mib);  // what the work asked for
  EXPECT_EQ(c.peak_held_bytes(), 10 * mib);
  c.give_back(a);
  c.give_back(b);
  c.reset_peak();
  EXPECT_EQ(c.peak_asked_bytes(), 0u);
  EXPECT_EQ(c.peak_held_bytes(), 10 * mib);  // the cache is still held
  // A block given back twice is kept once: never handed out twice, never freed twice.
  EXPECT_EQ(c.give_back(a), 0u);
  EXPECT_EQ(c.cached_bytes(), 10 * mib);
  const auto drained = c.drain();
  EXPECT_EQ(drained.size(), 2u);
  EXPECT_EQ(c.cached_bytes(), 0u);
  c.reset_peak();
  EXPECT_EQ(c.peak_held_bytes(), 0u);
  // Past the cap, a block goes back to the caller with its size.
  BlockCache small(3 * mib);
  small.add_new(d, 2 * mib);
  small.add_new(a, 2 * mib);
  EXPECT_EQ(small.give_back(d), 0u);
  EXPECT_EQ(small.give_back(a), 2 * mib);
  EXPECT_EQ(small.cached_bytes(), 2 * mib);
  EXPECT_EQ(small.live_bytes(), 0u);
}

// The peak resident set the memory calibration reads, and its reset to the current resident set. The
// pages come from mmap so that unmapping returns them at once (a sanitizer's allocator would keep them).
TEST(HostMemory, PeakResidentSetResets) {
  if (!reset_host_peak_rss()) GTEST_SKIP() << "skipped: this kernel refuses /proc/self/clear_refs";
  const size_t before = host_peak_rss_bytes(), bytes = size_t(64) << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, bytes);
  EXPECT_GE(host_peak_rss_bytes(), before + (size_t(60) << 20));
  ASSERT_EQ(munmap(p, bytes), 0);
  ASSERT_TRUE(reset_host_peak_rss());
  EXPECT_LT(host_peak_rss_bytes(), before + (size_t(32) << 20));
}

}  // namespace
}  // namespace sv

namespace sv {
namespace {

// A container's CPU quota (cgroup v2 cpu.max) caps the default thread count.
TEST(HostCpu, QuotaFromCpuMax) {
  EXPECT_EQ(cpus_from_cpu_max("200000 100000"), 2);
  EXPECT_EQ(cpus_from_cpu_max("150000 100000\n"), 2);  // 1.5 CPUs: two threads, rounded up
  EXPECT_EQ(cpus_from_cpu_max("50000 100000"), 1);
  EXPECT_EQ(cpus_from_cpu_max("max 100000"), 0);
  EXPECT_EQ(cpus_from_cpu_max(""), 0);
  EXPECT_EQ(cpus_from_cpu_max("12x 100000"), 0);
  EXPECT_EQ(cpus_from_cpu_max("100000 0"), 0);
  const int quota = cgroup_cpu_limit();
  Context ctx(Device::CPU, 0);
  if (quota > 0 && !std::getenv("OMP_NUM_THREADS")) {
    EXPECT_LE(ctx.threads(), quota);
  }
  EXPECT_GE(ctx.threads(), 1);
}

}  // namespace
}  // namespace sv
