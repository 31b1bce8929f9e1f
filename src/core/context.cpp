#include "core/context.h"

#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace sv {

extern "C" void openblas_set_num_threads(int);

Context::Context(Device device, int threads)
    : device_(device), allocator_(std::make_shared<CpuCachingAllocator>()) {
  if (threads <= 0) {
#ifdef _OPENMP
    threads = omp_get_max_threads();
#else
    threads = static_cast<int>(std::thread::hardware_concurrency());
#endif
  }
  threads_ = threads > 0 ? threads : 1;
  // BLAS keeps its own pool; size it to the context so kernels and GEMMs agree.
  openblas_set_num_threads(threads_);
}

}  // namespace sv
