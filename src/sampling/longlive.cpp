#include "sampling/longlive.h"

#include <cmath>
#include <limits>

#include "core/dtype.h"
#include "core/error.h"

namespace sv::sampling {

double LongLiveSchedule::sigma(double t) const {
  // The grid is monotone in k, so the nearest timestep is found by scanning; 1000 entries.
  double best = 1.0, dist = std::numeric_limits<double>::infinity();
  for (int k = 0; k < 1000; ++k) {
    const double s = 1.0 - k / 1000.0;
    const double sg = shift * s / (1.0 + (shift - 1.0) * s);
    const double d = std::fabs(1000.0 * sg - t);
    if (d < dist) dist = d, best = sg;  // first minimum wins, as torch.argmin
  }
  return best;
}

double LongLiveSchedule::model_timestep(int t) const {
  return bf16_timesteps ? static_cast<double>(bf16_to_f32(f32_to_bf16(static_cast<float>(t)))) : t;
}

std::vector<int64_t> longlive_block_starts(int64_t frames, int64_t block) {
  SV_CHECK(frames > 0 && block > 0, "block-wise generation needs frames > 0 and a block size > 0, got ", frames, " and ",
           block);
  const int64_t n = std::max<int64_t>(1, frames / block);
  std::vector<int64_t> starts{0};
  int64_t s = frames - (n - 1) * block;  // the first block takes the remainder
  for (int64_t i = 1; i < n; ++i, s += block) starts.push_back(s);
  return starts;
}

}  // namespace sv::sampling
