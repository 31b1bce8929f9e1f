// LongSANA's constant-size generation state (official CachedCausalAttention / CachedGLUMBConvTemp):
// per layer the linear-attention sums of earlier clean blocks (sum of v k_r^T and of ReLU(k), keys
// rotated at their absolute frame) and the previous block's last FFN frame for the temporal conv.
// Its size does not depend on how many blocks came before.
#pragma once
#include <cstdint>
#include <deque>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace sv::sana_dit {

// What one clean block adds to the state, per layer.
struct BlockContribution {
  std::vector<Tensor> vk;    // [B, H, C, C]
  std::vector<Tensor> ksum;  // [B, H, C]
  std::vector<Tensor> conv;  // [B, 1, H'*W', D]: last frame of the FFN's spatial output
  size_t bytes() const;
};

class CausalState {
 public:
  // window_blocks = 0: every earlier block counts (one running sum, the official default
  // num_cached_blocks = -1); K > 0: only the last K blocks (a sliding window).
  explicit CausalState(int64_t window_blocks = 0);

  int64_t blocks() const { return count_; }
  bool empty() const { return count_ == 0; }
  int64_t window_blocks() const { return window_; }
  // Appends a finished block's contribution.
  void push(Context& ctx, BlockContribution c);
  // Replaces the newest block's contribution (that block re-encoded under a new prompt).
  void replace_last(Context& ctx, BlockContribution c);

  // The state the next block reads; undefined tensors when empty.
  const Tensor& vk(size_t layer) const;
  const Tensor& ksum(size_t layer) const;
  const Tensor& conv(size_t layer) const;
  size_t bytes() const;

 private:
  void rebuild(Context& ctx);

  int64_t window_;
  int64_t count_ = 0;
  std::deque<BlockContribution> recent_;        // newest last: 1 block (unlimited) or up to K
  std::vector<Tensor> older_vk_, older_ksum_;   // unlimited: sums of every block before recent_
  std::vector<Tensor> vk_, ksum_;               // visible sums
  Tensor none_;
};

}  // namespace sv::sana_dit
