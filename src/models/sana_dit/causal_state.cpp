#include "models/sana_dit/causal_state.h"

#include "core/error.h"
#include "ops/ops.h"

namespace sv::sana_dit {

size_t BlockContribution::bytes() const {
  size_t n = 0;
  for (const auto* v : {&vk, &ksum, &conv})
    for (const Tensor& t : *v) n += t.defined() ? t.nbytes() : 0;
  return n;
}

CausalState::CausalState(int64_t window_blocks) : window_(window_blocks) {
  SV_CHECK(window_blocks >= 0, "the attention window must be a number of blocks >= 0 (0 = all), got ", window_blocks);
}

void CausalState::push(Context& ctx, BlockContribution c) {
  SV_CHECK(c.vk.size() == c.ksum.size() && c.vk.size() == c.conv.size() && !c.vk.empty(),
           "a block contribution needs vk, ksum and conv for every layer");
  SV_CHECK(recent_.empty() || recent_.back().vk.size() == c.vk.size(), "block contribution has ", c.vk.size(),
           " layers, the state ", recent_.back().vk.size());
  const size_t keep = window_ > 0 ? static_cast<size_t>(window_) : 1;
  if (recent_.size() == keep) {
    if (window_ == 0) {  // fold the oldest block into the running sum, in block order as the reference
      BlockContribution& old = recent_.front();
      if (older_vk_.empty()) {
        older_vk_ = old.vk;
        older_ksum_ = old.ksum;
      } else {
        for (size_t l = 0; l < old.vk.size(); ++l) {
          older_vk_[l] = ops::add(ctx, older_vk_[l], old.vk[l]);
          older_ksum_[l] = ops::add(ctx, older_ksum_[l], old.ksum[l]);
        }
      }
    }
    recent_.pop_front();
  }
  recent_.push_back(std::move(c));
  ++count_;
  rebuild(ctx);
}

void CausalState::replace_last(Context& ctx, BlockContribution c) {
  SV_CHECK(!recent_.empty(), "no block to re-encode yet");
  SV_CHECK(c.vk.size() == recent_.back().vk.size(), "block contribution has ", c.vk.size(), " layers, the state ",
           recent_.back().vk.size());
  recent_.back() = std::move(c);
  rebuild(ctx);
}

void CausalState::rebuild(Context& ctx) {
  const size_t L = recent_.back().vk.size();
  vk_.assign(L, Tensor());
  ksum_.assign(L, Tensor());
  for (size_t l = 0; l < L; ++l) {
    Tensor v = older_vk_.empty() ? Tensor() : older_vk_[l];
    Tensor k = older_ksum_.empty() ? Tensor() : older_ksum_[l];
    for (const BlockContribution& b : recent_) {
      v = v.defined() ? ops::add(ctx, v, b.vk[l]) : b.vk[l];
      k = k.defined() ? ops::add(ctx, k, b.ksum[l]) : b.ksum[l];
    }
    vk_[l] = v;
    ksum_[l] = k;
  }
}

const Tensor& CausalState::vk(size_t layer) const { return layer < vk_.size() ? vk_[layer] : none_; }
const Tensor& CausalState::ksum(size_t layer) const { return layer < ksum_.size() ? ksum_[layer] : none_; }
const Tensor& CausalState::conv(size_t layer) const {
  return recent_.empty() || layer >= recent_.back().conv.size() ? none_ : recent_.back().conv[layer];
}

size_t CausalState::bytes() const {
  size_t n = 0;
  for (const BlockContribution& b : recent_) n += b.bytes();
  // The visible sums are the newest block's own tensors until a second contribution is added in.
  const bool own_sums = !older_vk_.empty() || recent_.size() > 1;
  for (const auto* v : {&older_vk_, &older_ksum_, &vk_, &ksum_}) {
    if (!own_sums && (v == &vk_ || v == &ksum_)) continue;
    for (const Tensor& t : *v) n += t.defined() ? t.nbytes() : 0;
  }
  return n;
}

}  // namespace sv::sana_dit
