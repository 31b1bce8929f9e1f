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

void BlockCache::note_live(void* p, Live l) {
  live_.emplace(p, l);
  live_bytes_ += l.block;
  asked_bytes_ += l.asked;
  peak_asked_ = std::max(peak_asked_, asked_bytes_);
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
  note_live(p, {have, sz});
  return p;
}

void BlockCache::add_new(void* p, size_t sz) {
  std::lock_guard<std::mutex> lock(mu_);
  note_live(p, {sz, sz});
}

size_t BlockCache::give_back(void* p) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = live_.find(p);
  if (it == live_.end()) return 0;
  const Live l = it->second;
  live_.erase(it);
  live_bytes_ -= l.block;
  asked_bytes_ -= l.asked;
  if (cached_ + l.block <= max_cached_) {
    free_.emplace(l.block, p);
    cached_ += l.block;
    return 0;
  }
  return l.block;
}

std::vector<std::pair<void*, size_t>> BlockCache::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<void*, size_t>> out;
  out.reserve(free_.size());
  for (const auto& kv : free_) out.emplace_back(kv.second, kv.first);
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

size_t BlockCache::peak_asked_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_asked_;
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_held_ = live_bytes_ + cached_;
  peak_asked_ = asked_bytes_;
}

}  // namespace sv
