// Keeps asynchronous signals off a thread while it runs code that cannot take one. oneDNN's JIT sgemm
// kernels (before oneDNN 3.12; Debian 12 ships 2.7) point rsp into a heap workspace, so a handler run
// on that thread writes its signal frame over heap memory (oneDNN issue 4845): Ctrl-C in Python, the
// CLI's SIGINT handler, a profiler's SIGPROF. A signal sent meanwhile stays pending and is delivered
// when the block ends, or to another thread of the process that does not block it.
#pragma once
#include <signal.h>

namespace sv {

// Every signal but the synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS),
// which must stay deliverable for crash handlers.
sigset_t async_signal_set();

// Blocks async_signal_set() on the calling thread for its lifetime and restores the thread's mask after.
// Nested blocks cost no system call; ThreadPool's workers start with the set blocked and hold one block
// for their lifetime, so their GEMMs make none either. glibc's own internal signals (thread
// cancellation, setuid across threads) cannot be blocked; the engine uses neither.
class AsyncSignalBlock {
 public:
  AsyncSignalBlock();
  ~AsyncSignalBlock();
  AsyncSignalBlock(const AsyncSignalBlock&) = delete;
  AsyncSignalBlock& operator=(const AsyncSignalBlock&) = delete;

 private:
  sigset_t old_;
  bool changed_ = false;
};

}  // namespace sv
