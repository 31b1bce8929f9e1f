// Host memory allocators. The caching allocator keeps freed blocks by size so the steady state of
// a forward pass (same shapes every step) allocates nothing from the OS: no page faults, no
// zeroing of fresh pages by the kernel.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

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

class CpuCachingAllocator : public Allocator {
 public:
  explicit CpuCachingAllocator(size_t max_cached_bytes = size_t(4) << 30) : max_cached_(max_cached_bytes) {}
  ~CpuCachingAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  void release_cached() override;
  size_t cached_bytes() const;
  // High-water mark of the bytes this allocator holds from the system (live blocks and cached ones,
  // by size class), since construction or reset_peak.
  size_t peak_held_bytes() const;
  void reset_peak();

  // Blocks are rounded to size classes so near-identical requests share blocks; a request takes the
  // smallest cached block of its class or up to 1.5x larger.
  static size_t size_class(size_t bytes);

 private:
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> live_;  // handed-out blocks and their sizes
  size_t cached_ = 0, max_cached_;
  size_t held_ = 0, peak_held_ = 0;
};

}  // namespace sv
