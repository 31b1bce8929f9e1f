#include "core/signals.h"

#include <pthread.h>

#include <initializer_list>

namespace sv {
namespace {
thread_local int t_depth = 0;
}  // namespace

sigset_t async_signal_set() {
  sigset_t s;
  sigfillset(&s);
  for (int f : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, f);
  return s;
}

AsyncSignalBlock::AsyncSignalBlock() {
  if (t_depth++ > 0) return;
  const sigset_t s = async_signal_set();
  changed_ = pthread_sigmask(SIG_BLOCK, &s, &old_) == 0;
}

AsyncSignalBlock::~AsyncSignalBlock() {
  --t_depth;
  if (changed_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace sv
