// The CPU kernels' threads. An OpenMP team splits a loop statically and every thread waits at the end
// for the slowest; on a shared machine that is a thread the OS has descheduled, so each parallel region
// costs a timeslice (issue #20: 40x slower beside two busy processes, while PyTorch lost 4x). Here a
// loop is cut into chunks that threads claim one at a time; the calling thread claims too and waits
// only for chunks already begun, so a worker that is not running simply takes no part.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace sv {

class ThreadPool {
 public:
  // How long an idle thread polls for work before it sleeps. The DiT issues its next op within
  // microseconds; polling about as long as an OpenMP runtime does keeps the idle machine as fast as
  // before (toy pipeline 0.40 s either way), while on a busy one the thread that sleeps gives its CPU
  // share back (50 us polls: 0.41 s idle, 0.8 s beside two busy processes; 1 ms: 0.40 s, 1.1 s).
  static constexpr std::chrono::microseconds kDefaultSpin{1000};

  // `threads` counts the caller: threads - 1 workers are started.
  explicit ThreadPool(int threads, std::chrono::microseconds spin = kDefaultSpin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(c) once for every c in [0, chunks), on the caller and any worker that is free. Chunks of
  // one call run concurrently; returns when all are done. A call made from inside a chunk, or while
  // another thread is using the pool, runs its chunks on the calling thread.
  template <class F>
  void run(int64_t chunks, F&& fn) {
    if (chunks <= 0) return;
    auto call = [](void* obj, int64_t c) { (*static_cast<std::remove_reference_t<F>*>(obj))(c); };
    run_impl(chunks, call, const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Call = void (*)(void*, int64_t);
  void run_impl(int64_t chunks, Call call, void* obj);
  // Claims and runs chunks of the job published as generation `gen` until none is left.
  void work_on(uint32_t gen);
  void worker_main();
  void shutdown();

  const int threads_;
  const std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  std::mutex busy_;  // one job at a time; a second caller runs its own chunks inline
  static constexpr int64_t kMaxChunks = 0xffff;  // a call with more runs inline
  // The published job: a thread that claims a chunk through state_ then reads call_/obj_, which the
  // caller replaces only after every chunk is done.
  std::atomic<Call> call_{nullptr};
  std::atomic<void*> obj_{nullptr};
  alignas(64) std::atomic<uint64_t> state_{0};  // generation << 32 | chunks << 16 | next chunk to claim
  std::atomic<uint32_t> gen_{0};     // workers sleep on this; bumped for every job and at shutdown
  alignas(64) std::atomic<uint32_t> done_{0};  // chunks finished; the caller sleeps on this
  std::atomic<bool> stop_{false};
  std::atomic<int> idle_sleepers_{0};  // workers asleep on gen_
  std::atomic<int> caller_sleeps_{0};  // the caller asleep on done_
  std::mutex error_mu_;
  std::exception_ptr error_;  // the first exception a chunk threw, rethrown by the caller
};

}  // namespace sv
