#include "core/thread_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <exception>

#include "core/signals.h"

namespace sv {

namespace {

thread_local bool t_in_chunk = false;  // nested loops run inline

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void futex_wait(const std::atomic<uint32_t>& a, uint32_t old) {
  // Returns at once when the value is no longer `old`, so a wake sent before the sleep is not lost.
  syscall(SYS_futex, reinterpret_cast<const uint32_t*>(&a), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& a) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&a), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// Polls `a` until it differs from `old`; after `spin` it sleeps on it, counted in `sleepers` so that the
// thread changing `a` makes the wake call only when someone sleeps (both sides seq_cst: the sleeper
// counts itself before its last look, the writer stores before it reads the count).
uint32_t wait_change(const std::atomic<uint32_t>& a, uint32_t old, std::atomic<int>& sleepers,
                     std::chrono::microseconds spin) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    const uint32_t v = a.load(std::memory_order_acquire);
    if (v != old) return v;
    if ((i & 63) == 0 && std::chrono::steady_clock::now() - t0 > spin) break;
    cpu_relax();
  }
  for (;;) {
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    uint32_t v = a.load(std::memory_order_seq_cst);
    if (v == old) {
      futex_wait(a, old);
      v = a.load(std::memory_order_acquire);
    }
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    if (v != old) return v;
  }
}

void wake_if_sleeping(std::atomic<uint32_t>& a, const std::atomic<int>& sleepers) {
  if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(a);
}

}  // namespace

ThreadPool::ThreadPool(int threads, std::chrono::microseconds spin) : threads_(threads > 0 ? threads : 1), spin_(spin) {
  workers_.reserve(static_cast<size_t>(threads_ - 1));
  // Workers start with the process's asynchronous signals blocked (core/signals.h): those are the
  // application's business (the server stops on SIGTERM), a worker must not be the thread the kernel
  // delivers one to, and none may land in a GEMM kernel. Faults stay unblocked so crash handlers run.
  sigset_t old;
  const sigset_t async = async_signal_set();
  pthread_sigmask(SIG_BLOCK, &async, &old);
  try {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker_main(); });
  } catch (...) {  // e.g. a pids limit: stop the ones started, then report
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    shutdown();
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

ThreadPool::~ThreadPool() { shutdown(); }

void ThreadPool::shutdown() {
  stop_.store(true, std::memory_order_seq_cst);
  gen_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(gen_);
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void ThreadPool::worker_main() {
  const AsyncSignalBlock blocked;  // already so from the start; marks it, so GEMMs here skip the syscalls
  t_in_chunk = true;
  uint32_t seen = 0;
  for (;;) {
    seen = wait_change(gen_, seen, idle_sleepers_, spin_);
    if (stop_.load(std::memory_order_acquire)) return;
    work_on(seen);
  }
}

void ThreadPool::work_on(uint32_t gen) {
  for (;;) {
    uint64_t s = state_.load(std::memory_order_acquire);
    // Claimability is decided by the state word alone: while the caller writes the next job's fields
    // the old word says "all claimed", so no thread can claim through fields of two jobs.
    const uint32_t n = static_cast<uint32_t>(s >> 16) & 0xffff, idx = static_cast<uint32_t>(s) & 0xffff;
    if (static_cast<uint32_t>(s >> 32) != gen || idx >= n) return;
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
    // The job cannot be replaced before this chunk is counted done, so its fields are stable now.
    const Call call = call_.load(std::memory_order_relaxed);
    void* obj = obj_.load(std::memory_order_relaxed);
    try {
      call(obj, idx);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == n) wake_if_sleeping(done_, caller_sleeps_);
  }
}

void ThreadPool::run_impl(int64_t chunks, Call call, void* obj) {
  std::unique_lock<std::mutex> lk(busy_, std::defer_lock);
  if (chunks == 1 || threads_ == 1 || t_in_chunk || chunks > kMaxChunks || !lk.try_lock()) {
    for (int64_t c = 0; c < chunks; ++c) call(obj, c);
    return;
  }
  const uint32_t n = static_cast<uint32_t>(chunks);
  call_.store(call, std::memory_order_relaxed);
  obj_.store(obj, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  error_ = nullptr;
  const uint32_t gen = gen_.load(std::memory_order_relaxed) + 1;
  state_.store(static_cast<uint64_t>(gen) << 32 | static_cast<uint64_t>(n) << 16, std::memory_order_release);
  gen_.store(gen, std::memory_order_seq_cst);
  wake_if_sleeping(gen_, idle_sleepers_);
  t_in_chunk = true;
  work_on(gen);
  t_in_chunk = false;
  // Only chunks some worker has begun are left; a worker that never woke is not waited for.
  for (uint32_t d = done_.load(std::memory_order_acquire); d != n;) d = wait_change(done_, d, caller_sleeps_, spin_);
  if (error_) {
    std::exception_ptr e = std::move(error_);
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace sv
