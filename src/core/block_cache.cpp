#include "core/block_cache.h"

#include <algorithm>

namespace sv {

size_t BlockCache::size_class(size_t bytes) {
  if (bytes <= 4096) return (bytes + 63) / 64 * 64;
  size_t p = 4096;
  while (p * 2 < bytes) p *= 2;
  const size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

void BlockCache::note_live(size_t sz) {
  live_bytes_ += sz;
  peak_live_ = std::max(peak_live_, live_bytes_);
  peak_held_ = std::max(peak_held_, live_bytes_ + cached_);
}

void* BlockCache::take(size_t sz) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.lower_bound(sz);
  if (it == free_.end() || it->first > sz + sz / 2) return nullptr;
  void* p = it->second;
  const size_t have = it->first;
  free_.erase(it);
  cached_ -= have;
  live_.emplace(p, have);
  note_live(have);
  return p;
}

void BlockCache::add_new(void* p, size_t sz) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.emplace(p, sz);
  note_live(sz);
}

size_t BlockCache::give_back(void* p, size_t request_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t sz = size_class(request_bytes);
  if (const auto it = live_.find(p); it != live_.end()) {
    sz = it->second;
    live_.erase(it);
  }
  live_bytes_ -= std::min(live_bytes_, sz);
  if (cached_ + sz <= max_cached_) {
    free_.emplace(sz, p);
    cached_ += sz;
    return 0;
  }
  return sz;
}

std::vector<void*> BlockCache::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<void*> out;
  out.reserve(free_.size());
  for (const auto& kv : free_) out.push_back(kv.second);
  free_.clear();
  cached_ = 0;
  return out;
}

size_t BlockCache::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

size_t BlockCache::live_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_bytes_;
}

size_t BlockCache::peak_held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_held_;
}

size_t BlockCache::peak_live_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_live_;
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_held_ = live_bytes_ + cached_;
  peak_live_ = live_bytes_;
}

}  // namespace sv
