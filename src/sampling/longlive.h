// LongSANA's few-step block sampler (official LongLiveFlowEuler, longlive_flow_euler_sampler.py):
// every block of latent frames runs the same short Euler-to-x0 schedule, re-noised between steps.
#pragma once
#include <cstdint>
#include <vector>

namespace sv::sampling {

struct LongLiveSchedule {
  double shift = 7.0;
  std::vector<int> steps = {1000, 960, 889, 727};
  // The reference builds the timestep tensor in the model's bf16, so the model sees 889 as 888 and 727
  // as 728 (and converts x0 with those sigmas) while re-noising uses the exact integers. true
  // reproduces that; false feeds the exact integers everywhere.
  bool bf16_timesteps = true;

  // FlowMatchScheduler(shift, sigma_min=0, extra_one_step=True): sigma_k = shift*s/(1+(shift-1)*s) on
  // s_k = 1 - k/1000, timestep_k = 1000*sigma_k; sigma(t) is the grid value whose timestep is nearest t.
  double sigma(double t) const;
  // The timestep the transformer is given for schedule entry t.
  double model_timestep(int t) const;
};

// First latent frame of each block: `frames / block` blocks, the remainder added to the first
// (official chunk_indices; 21 frames in blocks of 10 -> 0, 11). Fewer frames than one block: one block.
std::vector<int64_t> longlive_block_starts(int64_t frames, int64_t block);

}  // namespace sv::sampling
