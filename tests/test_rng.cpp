// torch.randn reproduced bit for bit (tests/golden/rng, written by tools/reference/make_rng_goldens.py).
#include <cstring>

#include "core/rng.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace sv {
namespace {

TEST(TorchGenerator, RandnIsBitIdenticalToTorch) {
  // torch picks its float kernel from the CPU capability; so do we. Compare against the matching golden.
  const bool avx2 = TorchGenerator::uses_avx2_kernel();
  const io::TensorSource ref = io::TensorSource::open(test::golden(avx2 ? "rng/avx2.safetensors" : "rng/default.safetensors"));
  int checked = 0;
  for (const std::string& name : ref.names()) {
    if (name.find("_then5") != std::string::npos) continue;
    const uint64_t seed = std::stoull(name.substr(1, name.find('_') - 1));
    const Tensor want = ref.get(name);
    TorchGenerator g(seed);
    const Tensor got = g.randn(want.shape());
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << name;
    const Tensor next = g.randn({5});
    EXPECT_EQ(std::memcmp(next.raw(), ref.get(name + "_then5").raw(), 20), 0) << name << " then5";
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

TEST(TorchGenerator, Mt19937MatchesTheStandardEngine) {
  // std::mt19937 seeded with 5489 yields 3499211612 first; the 10000th output is 4123659995.
  TorchGenerator g(5489);
  EXPECT_EQ(g.random(), 3499211612u);
  for (int i = 1; i < 9999; ++i) g.random();
  EXPECT_EQ(g.random(), 4123659995u);
}

}  // namespace
}  // namespace sv
