// Host memory allocators. The caching allocator keeps freed blocks by size so the steady state of
// a forward pass (same shapes every step) allocates nothing from the OS: no page faults, no
// zeroing of fresh pages by the kernel. The CUDA backend's device allocator (ops/cuda) shares the policy.
#pragma once
#include <cstddef>

#include "core/block_cache.h"
#include "core/device.h"

namespace sv {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;  // 64-byte aligned; throws sv::Error when out of memory
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual Device device() const { return Device::CPU; }
  // Hands blocks kept for reuse back to the system: between stages whose shapes differ (the transformer's
  // activations are no use to the VAE), so one stage's cache does not sit beside the next one's peak.
  virtual void release_cached() {}
};

// Host blocks kept for reuse under BlockCache's policy, up to max_cached_bytes.
class CpuCachingAllocator : public Allocator {
 public:
  explicit CpuCachingAllocator(size_t max_cached_bytes = size_t(4) << 30) : cache_(max_cached_bytes) {}
  ~CpuCachingAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  void release_cached() override;
  size_t cached_bytes() const { return cache_.cached_bytes(); }
  // High-water mark of the bytes this allocator holds from the system (live blocks and cached ones,
  // by size class), since construction or reset_peak.
  size_t peak_held_bytes() const { return cache_.peak_held_bytes(); }
  void reset_peak() { cache_.reset_peak(); }

 private:
  BlockCache cache_;
};

}  // namespace sv
