#include "core/allocator.h"

#include <algorithm>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.h"

namespace sv {

size_t CpuCachingAllocator::size_class(size_t bytes) {
  if (bytes <= 4096) return (bytes + 63) / 64 * 64;
  // Eight classes per power of two above 4 KiB: at most 12.5% slack.
  size_t p = 4096;
  while (p * 2 < bytes) p *= 2;
  const size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

CpuCachingAllocator::~CpuCachingAllocator() { release_cached(); }

void* CpuCachingAllocator::allocate(size_t bytes) {
  const size_t sz = size_class(bytes);
  {
    // Best fit up to 1.5x: a forward whose last chunk is smaller (the Mix-FFN's frames, a short last
    // block) reuses the full chunk's blocks instead of holding a second set beside them.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.lower_bound(sz);
    if (it != free_.end() && it->first <= sz + sz / 2) {
      void* p = it->second;
      live_.emplace(p, it->first);
      cached_ -= it->first;
      free_.erase(it);
      return p;
    }
  }
  void* p = std::aligned_alloc(64, sz);
  if (!p) {
    release_cached();
    p = std::aligned_alloc(64, sz);
  }
  SV_CHECK(p, "out of host memory: could not allocate ", bytes, " bytes");
  std::lock_guard<std::mutex> lock(mu_);
  live_.emplace(p, sz);
  held_ += sz;
  peak_held_ = std::max(peak_held_, held_);
  return p;
}

void CpuCachingAllocator::deallocate(void* p, size_t bytes) {
  if (!p) return;
  size_t sz = size_class(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto live = live_.find(p);
    if (live != live_.end()) {  // the block's own size: it may be larger than this request's class
      sz = live->second;
      live_.erase(live);
    }
    if (cached_ + sz <= max_cached_) {
      free_.emplace(sz, p);
      cached_ += sz;
      return;
    }
    held_ -= sz;
  }
  std::free(p);
}

void CpuCachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : free_) std::free(kv.second);
  free_.clear();
  held_ -= cached_;
  cached_ = 0;
#if defined(__GLIBC__)
  // glibc keeps freed blocks below its (growing) mmap threshold in its heaps: hand those pages back too.
  malloc_trim(0);
#endif
}

size_t CpuCachingAllocator::peak_held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_held_;
}

void CpuCachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_held_ = held_;
}

size_t CpuCachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

}  // namespace sv
