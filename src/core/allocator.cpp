#include "core/allocator.h"

#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.h"

namespace sv {

CpuCachingAllocator::~CpuCachingAllocator() { release_cached(); }

void* CpuCachingAllocator::allocate(size_t bytes) {
  const size_t sz = BlockCache::size_class(bytes);
  if (void* p = cache_.take(sz)) return p;
  void* p = std::aligned_alloc(64, sz);
  if (!p) {
    release_cached();
    p = std::aligned_alloc(64, sz);
  }
  SV_CHECK(p, "out of host memory: could not allocate ", bytes, " bytes");
  cache_.add_new(p, sz);
  return p;
}

void CpuCachingAllocator::deallocate(void* p, size_t /*bytes: the cache knows each block's size*/) {
  if (p && cache_.give_back(p) != 0) std::free(p);
}

void CpuCachingAllocator::release_cached() {
  for (const auto& [p, bytes] : cache_.drain()) std::free(p);
#if defined(__GLIBC__)
  // glibc keeps freed blocks below its (growing) mmap threshold in its heaps: hand those pages back too.
  malloc_trim(0);
#endif
}

}  // namespace sv
