// config.json parsing and model loading errors.
#include <filesystem>
#include <fstream>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "models/sana_dit/sana_dit.h"
#include "test_util.h"

namespace sv {
namespace {
namespace fs = std::filesystem;

std::string err(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

sana_dit::Config parse(const std::string& text) {
  return sana_dit::Config::from_json(io::JsonConfig::parse(text, "cfg.json"));
}

TEST(Config, ParsesDiffusersConfig) {
  const auto c = sana_dit::Config::from_json(io::JsonConfig::load(test::golden("sana_dit/p111_odd/config.json")));
  EXPECT_EQ(c.patch_size[0], 1);
  EXPECT_EQ(c.out_channels, 8);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.inner_dim(), 32);
  EXPECT_EQ(c.ffn_hidden(), 96);
  // Released 2B defaults apply where a field is absent.
  const auto d = parse("{}");
  EXPECT_EQ(d.inner_dim(), 2240);
  EXPECT_EQ(d.ffn_hidden(), 5600);
}

TEST(Config, BadConfigsNameTheField) {
  EXPECT_NE(err([] { parse("{oops"); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"num_layers": "two"})"); }).find("'num_layers'"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"patch_size": [1, 2]})"); }).find("'patch_size'"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"attention_head_dim": -4})"); }).find("attention_head_dim"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"qk_norm": "layer_norm"})"); }).find("qk_norm"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"cross_attention_dim": 100})"); }).find("cross_attention_dim"), std::string::npos);
  EXPECT_NE(err([] { parse(R"({"_class_name": "WanTransformer3DModel"})"); }).find("_class_name"), std::string::npos);
  EXPECT_NE(err([] { parse("[1, 2]"); }).find("cfg.json"), std::string::npos);
}

fs::path copy_case(const std::string& name) {
  const fs::path dst = fs::temp_directory_path() / ("sv_cfg_" + std::to_string(::getpid())) / name;
  fs::remove_all(dst);
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(test::golden("sana_dit/p122_b2_mask")))
    fs::copy_file(e.path(), dst / e.path().filename());
  return dst;
}

TEST(Config, WeightsThatDisagreeWithConfig) {
  // num_layers 3 but the checkpoint holds 2 blocks: a missing tensor.
  {
    const fs::path d = copy_case("layers");
    auto j = io::JsonConfig::load((d / "config.json").string()).json();
    j["num_layers"] = 3;
    std::ofstream(d / "config.json") << j.dump();
    const std::string e = err([&] { sana_dit::SanaVideoTransformer::load(d.string()); });
    EXPECT_NE(e.find("missing tensor 'transformer_blocks.2."), std::string::npos) << e;
  }
  // num_layers 1: the second block's tensors are unused.
  {
    const fs::path d = copy_case("unused");
    auto j = io::JsonConfig::load((d / "config.json").string()).json();
    j["num_layers"] = 1;
    std::ofstream(d / "config.json") << j.dump();
    const std::string e = err([&] { sana_dit::SanaVideoTransformer::load(d.string()); });
    EXPECT_NE(e.find("unused tensor"), std::string::npos) << e;
  }
  // mlp_ratio changes the FFN width: a shape mismatch naming the tensor and the file.
  {
    const fs::path d = copy_case("shape");
    auto j = io::JsonConfig::load((d / "config.json").string()).json();
    j["mlp_ratio"] = 3.0;
    std::ofstream(d / "config.json") << j.dump();
    const std::string e = err([&] { sana_dit::SanaVideoTransformer::load(d.string()); });
    EXPECT_NE(e.find("conv_inverted.weight' has shape"), std::string::npos) << e;
    EXPECT_NE(e.find("diffusion_pytorch_model.safetensors"), std::string::npos) << e;
  }
}

TEST(Config, WrongInputsAreRejected) {
  auto model = sana_dit::SanaVideoTransformer::load(test::golden("sana_dit/p122_b2_mask"));
  Context ctx(Device::CPU, 1);
  sana_dit::Inputs in{Tensor::zeros({1, 15, 1, 2, 2}), Tensor::zeros({1, 3, 20}), Tensor::zeros({1}), Tensor(), Tensor(), {}};
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("in_channels"), std::string::npos);
  in.hidden_states = Tensor::zeros({1, 16, 1, 2});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("[B, C, F, H, W]"), std::string::npos);
  in.hidden_states = Tensor::zeros({1, 16, 1, 1, 1});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("smaller than one"), std::string::npos);
  in.hidden_states = Tensor::zeros({1, 16, 1, 2, 2});
  in.encoder_hidden_states = Tensor::zeros({1, 3, 21});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("caption_channels"), std::string::npos);
  in.encoder_hidden_states = Tensor::zeros({1, 3, 20});
  in.timestep = Tensor::zeros({3});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("timestep"), std::string::npos);
  in.timestep = Tensor::zeros({1});
  in.encoder_attention_mask = Tensor::zeros({1, 4});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("encoder_attention_mask"), std::string::npos);
  in.encoder_attention_mask = Tensor();
  in.hidden_states = Tensor::zeros({1, 16, 1, 2 * 1100, 2});
  EXPECT_NE(err([&] { model->forward(ctx, in); }).find("rope_max_seq_len"), std::string::npos);
}

}  // namespace
}  // namespace sv
