// Golden parity of the transformer against diffusers' SanaVideoTransformer3DModel
// (tests/golden/sana_dit/*, written by tools/reference/make_dit_goldens.py). Every named
// intermediate is compared, so a failure points at the first diverging layer.
#include <filesystem>
#include <map>

#include "core/context.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"
#include "test_util.h"

namespace sv {
namespace {

class SanaDitGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(SanaDitGolden, MatchesDiffusers) {
  const std::string dir = test::golden("sana_dit/" + GetParam());
  auto model = sana_dit::SanaVideoTransformer::load(dir);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  const sana_dit::Inputs x = test::dit_inputs(in);

  Context ctx(Device::CPU, 2);
  std::map<std::string, Tensor> seen;
  ctx.set_dump([&](const std::string& name, const Tensor& t) { seen[name] = t.clone(); });
  const Tensor sample = model->forward(ctx, x);

  ASSERT_EQ(sample.shape(), ref.get("sample").shape());
  int compared = 0;
  for (const std::string& name : ref.names()) {
    if (name == "sample") continue;
    ASSERT_TRUE(seen.count(name)) << "engine never produced intermediate " << name;
    SV_EXPECT_CLOSE(seen[name], ref.get(name), 1e-4, name);
    ++compared;
  }
  EXPECT_GE(compared, 8);
  SV_EXPECT_CLOSE(sample, ref.get("sample"), 1e-4, "sample");
}

INSTANTIATE_TEST_SUITE_P(Cases, SanaDitGolden,
                         ::testing::Values("p122_b2_mask", "p111_odd", "per_token", "affine_guidance"));

// The mask must matter: dropping it changes the output of the padded sample only.
TEST(SanaDit, TextMaskChangesOnlyPaddedSample) {
  const std::string dir = test::golden("sana_dit/p122_b2_mask");
  auto model = sana_dit::SanaVideoTransformer::load(dir);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  sana_dit::Inputs x{in.get("hidden_states"), in.get("encoder_hidden_states"), in.get("timestep"), Tensor(), Tensor(), {}};
  Context ctx(Device::CPU, 2);
  const Tensor no_mask = model->forward(ctx, x);
  const Tensor ref = io::TensorSource::open(dir + "/expected.safetensors").get("sample");
  SV_EXPECT_CLOSE(no_mask.select(0, 0), ref.select(0, 0), 1e-4, "unpadded sample");
  EXPECT_GT(test::compare(no_mask.select(0, 1), ref.select(0, 1)).ratio(), 1e-3);
}

}  // namespace
}  // namespace sv

namespace sv {
namespace {

// A bf16 checkpoint stays bf16 in memory (matrices are widened on the fly) and computes exactly what
// an f32 checkpoint holding the same bf16-rounded values computes.
TEST(SanaDit, Bf16CheckpointMatchesWidenedF32) {
  namespace fs = std::filesystem;
  const std::string src = test::golden("sana_dit/p122_b2_mask");
  const io::TensorSource w = io::TensorSource::open(src);
  const fs::path root = fs::temp_directory_path() / ("sv_bf16_" + std::to_string(::getpid()));
  for (const char* kind : {"bf16", "f32"}) {
    fs::create_directories(root / kind);
    fs::copy_file(src + "/config.json", root / kind / "config.json", fs::copy_options::overwrite_existing);
    std::vector<std::pair<std::string, Tensor>> t;
    for (const std::string& n : w.names()) {
      Tensor h = w.get(n).to(DType::BF16);
      t.emplace_back(n, std::string(kind) == "bf16" ? h : h.to(DType::F32));
    }
    io::write_safetensors((root / kind / "diffusion_pytorch_model.safetensors").string(), t);
  }
  const io::TensorSource in = io::TensorSource::open(src + "/inputs.safetensors");
  sana_dit::Inputs x{in.get("hidden_states"), in.get("encoder_hidden_states"), in.get("timestep"),
                     in.get("encoder_attention_mask"), Tensor(), {}};
  Context ctx(Device::CPU, 2);
  const Tensor a = sana_dit::SanaVideoTransformer::load((root / "bf16").string())->forward(ctx, x);
  const Tensor b = sana_dit::SanaVideoTransformer::load((root / "f32").string())->forward(ctx, x);
  SV_EXPECT_CLOSE(a, b, 1e-6, "bf16 vs widened f32");
  // And bf16 rounding of the weights really changes the result (the test would notice a silent f32 path).
  EXPECT_GT(test::compare(a, io::TensorSource::open(src + "/expected.safetensors").get("sample")).ratio(), 1e-5);
}

}  // namespace
}  // namespace sv
