// A signal that arrives while a GEMM runs must not corrupt anything. oneDNN's JIT AVX-512/AVX2 sgemm
// kernels (before oneDNN 3.12, so Debian 12's 2.7) point rsp into a heap workspace, and the kernel
// writes a signal frame below rsp: a handler run there overwrites heap memory (oneDNN issue 4845). That
// is how Ctrl-C in Python (whose handler runs on whichever thread is interrupted) killed a generation
// with "corrupted size vs. prev_size". Here a second thread sends a no-op-handled signal to the thread
// doing GEMMs, thousands of times; the products must stay exact and the heap whole.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/context.h"
#include "core/signals.h"
#include "ops/cpu/blas.h"

namespace sv {
namespace {

std::atomic<int> g_handled{0};
void count_signal(int) { g_handled.fetch_add(1, std::memory_order_relaxed); }

// SIGUSR1 counted in g_handled for the helper's lifetime; the previous handler comes back at its end,
// also when an assertion leaves the test early.
struct CountingHandler {
  struct sigaction old {};
  bool installed = false;
  CountingHandler() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    installed = sigaction(SIGUSR1, &sa, &old) == 0;
    g_handled = 0;
  }
  ~CountingHandler() {
    if (installed) sigaction(SIGUSR1, &old, nullptr);
  }
};

TEST(SignalSafety, SignalsDuringGemmsCorruptNothing) {
  const CountingHandler handler;
  ASSERT_TRUE(handler.installed);

  // One thread, so every GEMM runs on this (signalled) thread; sizes that take oneDNN's JIT kernels.
  Context ctx(Device::CPU, 1);
  const int64_t M = 192, N = 160, K = 256;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> A(M * K), B(K * N), want(M * N, 0.f);
  for (auto& x : A) x = u(rng);
  for (auto& x : B) x = u(rng);
  cpu::sgemm(ctx, false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, want.data(), N);
  double ref_err = 0;  // the first product against a double-precision one: the kernel is right to start with
  for (int64_t i = 0; i < M; i += 17)
    for (int64_t j = 0; j < N; j += 13) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(A[i * K + k]) * B[k * N + j];
      ref_err = std::max(ref_err, std::abs(s - want[i * N + j]));
    }
  ASSERT_LT(ref_err, 1e-3);

  const pthread_t self = pthread_self();
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread sender([&] {
    while (!stop.load()) {
      pthread_kill(self, SIGUSR1);
      sent.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  int mismatched = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> C(M * N);
  int rounds = 0;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
    std::vector<float> scratch(size_t(1) << 16, 1.f);  // heap traffic beside the GEMMs
    cpu::sgemm(ctx, false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, C.data(), N);
    for (int64_t i = 0; i < M * N; ++i) mismatched += C[i] != want[i];
    ++rounds;
  }
  stop = true;
  sender.join();
  EXPECT_EQ(mismatched, 0) << "over " << rounds << " GEMMs";
  EXPECT_GT(rounds, 10);
  // Signals were delivered (after a GEMM rather than inside it), not lost. Those sent during one GEMM
  // merge into one pending signal, so the count is about one per GEMM, not one per send.
  EXPECT_GT(g_handled.load(), 0) << sent.load() << " sent over " << rounds << " GEMMs";
  // The heap is still whole: a round of allocations and frees of many sizes.
  std::vector<std::vector<char>> blocks;
  for (int i = 0; i < 2000; ++i) blocks.emplace_back(size_t(16) << (i % 14), char(i));
  blocks.clear();
}

// The block itself, deterministically: a signal sent to the thread inside it stays pending and is handled
// once the outermost block ends; an inner block ending does not unblock; an exception leaving the block
// restores the mask; the fault signals are never in the set.
TEST(SignalSafety, AsyncSignalBlockHoldsSignalsUntilItEnds) {
  const CountingHandler handler;
  ASSERT_TRUE(handler.installed);
  auto pending = [] {
    sigset_t p;
    sigpending(&p);
    return sigismember(&p, SIGUSR1) == 1;
  };
  {
    const AsyncSignalBlock outer;
    {
      const AsyncSignalBlock inner;
      pthread_kill(pthread_self(), SIGUSR1);
    }
    EXPECT_TRUE(pending());  // the inner block's end did not unblock
    EXPECT_EQ(g_handled.load(), 0);
  }
  EXPECT_FALSE(pending());
  EXPECT_EQ(g_handled.load(), 1);
  try {
    const AsyncSignalBlock b;
    throw std::runtime_error("x");
  } catch (const std::runtime_error&) {
  }
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  EXPECT_FALSE(sigismember(&now, SIGUSR1));
  EXPECT_FALSE(sigismember(&now, SIGINT));
  const sigset_t set = async_signal_set();
  for (int s : {SIGINT, SIGTERM, SIGPROF, SIGUSR1, SIGALRM}) EXPECT_TRUE(sigismember(&set, s)) << s;
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) EXPECT_FALSE(sigismember(&set, s)) << s;
}

}  // namespace
}  // namespace sv
