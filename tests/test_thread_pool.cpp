// The CPU thread pool: every chunk runs exactly once, nested and concurrent use, exceptions, and the
// property the pool exists for: a caller never waits for a worker that has not started.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include "core/context.h"
#include "core/host_cpu.h"
#include "core/thread_pool.h"
#include "ops/cpu/blas.h"

namespace sv {
namespace {

// With no polling every hand-over goes through the futex sleep and wake: a lost wake-up hangs here,
// and a chunk claimed across two jobs shows as a count off by one.
TEST(ThreadPool, EveryChunkOnceOverManyJobs) {
  for (int spin_us : {0, 1000}) {
    ThreadPool pool(3, std::chrono::microseconds(spin_us));
    std::vector<std::atomic<int>> hits(257);
    for (int job = 0; job < 3000; ++job) {
      const int64_t chunks = 1 + job % 257;
      pool.run(chunks, [&](int64_t c) { hits[static_cast<size_t>(c)].fetch_add(1); });
      for (int64_t c = 0; c < 257; ++c) {
        ASSERT_EQ(hits[static_cast<size_t>(c)].exchange(0), c < chunks ? 1 : 0) << "job " << job << " chunk " << c;
      }
    }
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.run(8, [&](int64_t a) { pool.run(8, [&](int64_t b) { sum.fetch_add(a * 8 + b); }); });
  EXPECT_EQ(sum.load(), 63 * 64 / 2);
}

TEST(ThreadPool, TwoCallersAtOnceBothComplete) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto caller = [&] {
    for (int i = 0; i < 500; ++i) pool.run(16, [&](int64_t c) { total.fetch_add(c + 1); });
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 500 * (16 * 17 / 2));
}

TEST(ThreadPool, ExceptionReachesTheCallerAfterTheJob) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.run(64,
                        [&](int64_t c) {
                          ran.fetch_add(1);
                          if (c == 5) throw std::runtime_error("chunk 5");
                        }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 64);  // the other chunks still ran; none is left running on a freed job
  std::atomic<int> after{0};
  pool.run(4, [&](int64_t) { after.fetch_add(1); });  // the pool is usable after a throw
  EXPECT_EQ(after.load(), 4);
}

// A pool busy with another caller's job (one of its chunks blocked) does not hold up a second caller:
// that one runs its chunks itself.
TEST(ThreadPool, ABusyPoolRunsASecondCallerInline) {
  ThreadPool pool(2);
  std::atomic<bool> release{false};
  std::atomic<int> blocked{0};
  // Occupy the one worker inside a chunk of an outer job run from another thread.
  std::thread holder([&] {
    pool.run(2, [&](int64_t) {
      if (blocked.fetch_add(1) == 0)
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  while (blocked.load() == 0) std::this_thread::yield();
  // The pool is busy now, so this caller runs alone; it must finish although a chunk holder sleeps.
  const auto t0 = std::chrono::steady_clock::now();
  int64_t n = 0;
  pool.run(100, [&](int64_t) { ++n; });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  release.store(true);
  holder.join();
  EXPECT_EQ(n, 100);
  EXPECT_LT(s, 5.0);
}

TEST(ThreadPool, ParallelForCoversTheRangeInOrderlessChunks) {
  Context ctx(Device::CPU, 2);
  for (int64_t n : {1, 2, 7, 100, 4097}) {
    std::vector<int> seen(static_cast<size_t>(n), 0);
    ctx.parallel_for(n, int64_t(1) << 22, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) seen[static_cast<size_t>(i)]++;
    });
    for (int v : seen) ASSERT_EQ(v, 1);
  }
}

// The blocked GEMM matches a double-precision product, and repeats bit for bit: its blocks depend on
// the thread count only, never on which thread ran what.
TEST(ThreadPool, BlockedGemmMatchesAndRepeats) {
  Context ctx(Device::CPU, 3);
  for (auto [M, N, K, ta, tb] : {std::tuple<int64_t, int64_t, int64_t, bool, bool>{300, 200, 96, false, true},
                                 {70, 520, 64, true, false},
                                 {1030, 130, 33, false, false},
                                 {129, 700, 50, true, true}}) {
    std::vector<float> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N));
    for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 7919) % 101) / 50.0f - 1.0f;
    for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>((i * 104729) % 97) / 48.0f - 1.0f;
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    std::vector<float> c1(static_cast<size_t>(M * N), 0.5f), c2 = c1;
    cpu::sgemm(ctx, ta, tb, M, N, K, 1.25f, A.data(), lda, B.data(), ldb, 0.5f, c1.data(), N);
    cpu::sgemm(ctx, ta, tb, M, N, K, 1.25f, A.data(), lda, B.data(), ldb, 0.5f, c2.data(), N);
    EXPECT_EQ(c1, c2) << M << "x" << N << "x" << K;
    double err = 0.0, ref_max = 0.0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += static_cast<double>(ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? B[n * ldb + k] : B[k * ldb + n]);
        const double ref = 1.25 * acc + 0.25;
        ref_max = std::max(ref_max, std::abs(ref));
        err = std::max(err, std::abs(ref - c1[static_cast<size_t>(m * N + n)]));
      }
    ASSERT_GT(ref_max, 1.0);
    EXPECT_LE(err, 1e-5 * ref_max) << M << "x" << N << "x" << K;
  }
}

TEST(HostCpu, CfsQuotaToCpus) {
  EXPECT_EQ(cpus_from_cfs(-1, 100000), 0);
  EXPECT_EQ(cpus_from_cfs(200000, 100000), 2);
  EXPECT_EQ(cpus_from_cfs(150000, 100000), 2);
  EXPECT_EQ(cpus_from_cfs(50000, 100000), 1);
  EXPECT_EQ(cpus_from_cfs(100000, 0), 0);
  EXPECT_GE(default_cpu_threads(), 1);
}

}  // namespace
}  // namespace sv
