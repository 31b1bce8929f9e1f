// The reuse policy both caching allocators share (host and CUDA device memory), kept apart from the
// calls that really allocate so that it is tested on any machine. Blocks are rounded to size classes;
// a freed block is kept, and a request takes the smallest kept block of its class or up to 1.5x larger:
// a forward whose last chunk is smaller (the Mix-FFN's frames, a short last block) reuses the full
// chunk's blocks instead of holding a second set beside them. A handed-out block's real size is
// remembered, so the accounting stays exact when a request got a larger block. Thread-safe.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sv {

class BlockCache {
 public:
  explicit BlockCache(size_t max_cached_bytes) : max_cached_(max_cached_bytes) {}

  // Eight classes per power of two above 4 KiB (at most 12.5% slack), 64-byte steps below.
  static size_t size_class(size_t bytes);

  // A kept block for a request of this size class (recorded as handed out), or null.
  void* take(size_t size_class_bytes);
  // Records a block just allocated from the system for a request of this size class.
  void add_new(void* p, size_t size_class_bytes);
  // A block given back by its user. Returns 0 when it is kept for reuse, else the block's size: the
  // caller then frees it (the cache would grow past its cap). A pointer this cache did not hand out
  // (a double free) is left alone and reported as kept, so it is neither freed twice nor handed out
  // twice.
  size_t give_back(void* p);
  // Removes every kept block from the cache and returns them (with their sizes) for the caller to free.
  std::vector<std::pair<void*, size_t>> drain();

  size_t cached_bytes() const;  // kept for reuse
  size_t live_bytes() const;    // handed out, at the blocks' own sizes
  // High-water marks since construction or reset_peak: of the bytes held from the system (live +
  // kept), and of the size classes asked for by the live blocks (what the work needs, independent of
  // which larger cached block a request happened to get).
  size_t peak_held_bytes() const;
  size_t peak_asked_bytes() const;
  void reset_peak();

 private:
  mutable std::mutex mu_;
  struct Live {
    size_t block, asked;
  };
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, Live> live_;
  size_t max_cached_, cached_ = 0, live_bytes_ = 0, asked_bytes_ = 0;
  size_t peak_held_ = 0, peak_asked_ = 0;
  void note_live(void* p, Live l);
};

}  // namespace sv
