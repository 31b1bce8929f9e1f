// Helpers shared by the tests: golden paths and the parity metric.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"

namespace sv::test {

inline std::string golden(const std::string& rel) { return std::string(SV_TEST_DATA) + "/" + rel; }

// A DiT golden case's inputs.safetensors (make_dit_goldens.py) as model inputs; mask and guidance when present.
inline sana_dit::Inputs dit_inputs(const io::TensorSource& in) {
  sana_dit::Inputs x;
  x.hidden_states = in.get("hidden_states");
  x.encoder_hidden_states = in.get("encoder_hidden_states");
  x.timestep = in.get("timestep");
  if (in.has("encoder_attention_mask")) x.encoder_attention_mask = in.get("encoder_attention_mask");
  if (in.has("guidance")) x.guidance = in.get("guidance");
  return x;
}

struct Diff {
  double max_abs_diff = 0, max_abs_ref = 0;
  double ratio() const { return max_abs_ref > 0 ? max_abs_diff / max_abs_ref : max_abs_diff; }
};

inline Diff compare(const Tensor& got, const Tensor& ref) {
  const std::vector<float> a = got.to_vector(), b = ref.to_vector();
  Diff d;
  if (a.size() != b.size()) {
    d.max_abs_diff = INFINITY;
    return d;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    d.max_abs_diff = std::isnan(diff) ? INFINITY : std::max(d.max_abs_diff, diff);
    d.max_abs_ref = std::max(d.max_abs_ref, std::fabs(static_cast<double>(b[i])));
  }
  return d;
}

// The project's fp32 parity bar: max |diff| <= tol * max |ref|.
#define SV_EXPECT_CLOSE(got, ref, tol, what)                                                                      \
  do {                                                                                                            \
    const ::sv::test::Diff d_ = ::sv::test::compare((got), (ref));                                                \
    EXPECT_EQ((got).numel(), (ref).numel()) << (what);                                                            \
    EXPECT_LE(d_.max_abs_diff, (tol) * d_.max_abs_ref)                                                            \
        << (what) << ": max|diff| " << d_.max_abs_diff << " vs max|ref| " << d_.max_abs_ref << " (ratio "         \
        << d_.ratio() << ")";                                                                                     \
  } while (0)

}  // namespace sv::test
