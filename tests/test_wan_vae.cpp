// AutoencoderKLWan decode/encode against diffusers goldens (tests/golden/wan_vae, written by
// tools/reference/make_vae_goldens.py), plus the streaming contract.
#include "io/safetensors.h"
#include "models/wan_vae/wan_vae.h"
#include "ops/ops.h"
#include "test_util.h"

namespace sv {
namespace {

class WanVaeGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(WanVaeGolden, DecodeMatchesDiffusers) {
  const std::string dir = test::golden("wan_vae/" + GetParam());
  auto vae = wan_vae::AutoencoderKLWan::load(dir);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  const Tensor out = vae->decode(ctx, in.get("latents"));
  ASSERT_EQ(out.shape(), ref.get("sample").shape());
  SV_EXPECT_CLOSE(out, ref.get("sample"), 1e-4, "sample");
}

TEST_P(WanVaeGolden, EncodeMatchesDiffusers) {
  const std::string dir = test::golden("wan_vae/" + GetParam());
  auto vae = wan_vae::AutoencoderKLWan::load(dir);
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource ref = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  const Tensor moments = vae->encode(ctx, in.get("video"));
  const int64_t z = vae->config().z_dim;
  const Tensor mean = moments.narrow(1, 0, z);
  ASSERT_EQ(mean.shape(), ref.get("latent_mean").shape());
  SV_EXPECT_CLOSE(mean, ref.get("latent_mean"), 1e-4, "latent_mean");
  if (ref.has("moments")) SV_EXPECT_CLOSE(moments, ref.get("moments"), 1e-4, "moments");
}

TEST_P(WanVaeGolden, StreamingDecodeEqualsWholeDecode) {
  const std::string dir = test::golden("wan_vae/" + GetParam());
  auto vae = wan_vae::AutoencoderKLWan::load(dir);
  const Tensor z = io::TensorSource::open(dir + "/inputs.safetensors").get("latents");
  Context ctx(Device::CPU, 2);
  const Tensor whole = vae->decode(ctx, z);
  std::vector<Tensor> parts;
  vae->decode(ctx, z, [&](const Tensor& f) { parts.push_back(f); });
  ASSERT_EQ(static_cast<int64_t>(parts.size()), z.size(2));
  EXPECT_EQ(parts[0].size(2), 1);  // the first latent frame decodes to exactly one frame
  const Tensor joined = ops::cat(ctx, parts, 2);
  EXPECT_EQ(joined.to_vector(), whole.to_vector());
}

INSTANTIATE_TEST_SUITE_P(Cases, WanVaeGolden, ::testing::Values("wan21_mini", "attn_b2"));

TEST(WanVae, CacheStaysConstantAcrossFrames) {
  auto vae = wan_vae::AutoencoderKLWan::load(test::golden("wan_vae/wan21_mini"));
  Context ctx(Device::CPU, 2);
  wan_vae::AutoencoderKLWan::DecodeSession s(*vae);
  std::vector<size_t> bytes;
  for (int i = 0; i < 6; ++i) {
    s.push(ctx, Tensor::zeros({1, 4, 1, 5, 7}));
    bytes.push_back(s.cache_bytes());
  }
  // After the first two latent frames fill every conv's two-frame window, the state is fixed.
  for (size_t i = 3; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], bytes[2]);
}

TEST(WanVae, BadLatents) {
  auto vae = wan_vae::AutoencoderKLWan::load(test::golden("wan_vae/wan21_mini"));
  Context ctx(Device::CPU, 1);
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 5, 1, 5, 7})), Error);
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({1, 4, 0, 5, 7})), Error);
  EXPECT_THROW(vae->decode(ctx, Tensor::zeros({4, 1, 5, 7})), Error);
  EXPECT_THROW(vae->encode(ctx, Tensor::zeros({1, 4, 1, 8, 8})), Error);
}

}  // namespace
}  // namespace sv
