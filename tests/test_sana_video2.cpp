// SANA-Video 2.0: the release converted from its .pth + config.yaml, then the transformer against the
// official modules' outputs (tests/golden/sana_video2, tools/reference/make_sv2_goldens.py).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "models/sana_video2/release.h"
#include "models/sana_video2/transformer.h"
#include "ops/ops.h"
#include "pipeline/sana_video2_pipeline.h"
#include "sv/sv.h"
#include "test_util.h"

namespace sv {
namespace {
namespace fs = std::filesystem;

const std::string kGold = std::string(SV_TEST_DATA) + "/sana_video2/";

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("sv_sv2_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p.parent_path());
  return p;
}

std::string convert(const std::string& model, const std::string& out_name) {
  const fs::path out = scratch(out_name);
  char err[512] = {0};
  const std::string pth = kGold + model + "/model.pth", yaml = kGold + model + "/config.yaml";
  EXPECT_EQ(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), out.c_str(), nullptr, err, sizeof err), SV_OK) << err;
  return out.string();
}

sana_video2::Inputs inputs_of(const io::TensorSource& in) {
  sana_video2::Inputs x;
  x.hidden_states = in.get("hidden_states");
  x.encoder_hidden_states = in.get("encoder_hidden_states");
  x.timestep = in.get("timestep");
  x.encoder_attention_mask = in.get("encoder_attention_mask");
  return x;
}

// Runs one golden case; with `layers`, every named intermediate the golden holds is compared too.
void check_case(const sana_video2::Transformer& model, const std::string& dir, bool layers) {
  const io::TensorSource in = io::TensorSource::open(dir + "/inputs.safetensors");
  const io::TensorSource exp = io::TensorSource::open(dir + "/expected.safetensors");
  Context ctx(Device::CPU, 2);
  std::map<std::string, Tensor> dumps;
  if (layers) ctx.set_dump([&](const std::string& n, const Tensor& t) { dumps[n] = t.clone(); });
  const Tensor out = model.forward(ctx, inputs_of(in));
  SV_EXPECT_CLOSE(out, exp.get("sample"), 1e-4, dir + ": sample");
  if (!layers) return;
  int compared = 0;
  for (const std::string& name : exp.names()) {
    if (name == "sample") continue;
    ASSERT_TRUE(dumps.count(name)) << "the engine dumps no '" << name << "'";
    SV_EXPECT_CLOSE(dumps[name], exp.get(name), 1e-4, dir + ": " + name);
    ++compared;
  }
  EXPECT_GE(compared, 20);
}

TEST(SanaVideo2, ConvertedReleaseMatchesOfficialModules) {
  const std::string dir = convert("tiny", "tiny");
  // The folder: model_index.json naming the family, the transformer config from the YAML.
  const io::JsonConfig index = io::JsonConfig::load(dir + "/model_index.json");
  EXPECT_EQ(index.get_string("_class_name"), "SanaVideo2Pipeline");
  const auto model = sana_video2::Transformer::load(dir + "/transformer");
  EXPECT_EQ(model->config().softmax_layers, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(model->config().mlp_hidden, 160);
  // bf16 in the .pth stays bf16 in the converted file.
  const io::TensorSource w = io::TensorSource::open(dir + "/transformer");
  EXPECT_EQ(w.info("blocks.0.attn.qkv.weight").dtype, DType::BF16);
  check_case(*model, kGold + "tiny/scalar", true);
  check_case(*model, kGold + "tiny/per_frame", false);
  check_case(*model, kGold + "tiny/per_token", false);
}

TEST(SanaVideo2, LegacyNormaliserIsItsOwnCase) {
  const std::string dir = convert("tiny", "tiny_legacy");
  const auto current = sana_video2::Transformer::load(dir + "/transformer");
  // The golden of the first release's form must not pass with the current form: the flag matters.
  {
    const io::TensorSource in = io::TensorSource::open(kGold + "tiny/legacy/inputs.safetensors");
    const io::TensorSource exp = io::TensorSource::open(kGold + "tiny/legacy/expected.safetensors");
    Context ctx(Device::CPU, 2);
    const test::Diff d = test::compare(current->forward(ctx, inputs_of(in)), exp.get("sample"));
    EXPECT_GT(d.ratio(), 1e-4) << "legacy and current forms agree; the legacy golden tests nothing";
  }
  const std::string cfg = dir + "/transformer/config.json";
  nlohmann::json j = io::JsonConfig::load(cfg).json();
  j["linear_attention_normalizer"] = true;
  std::ofstream(cfg) << j.dump();
  check_case(*sana_video2::Transformer::load(dir + "/transformer"), kGold + "tiny/legacy", false);
}

TEST(SanaVideo2, SingleAnchorLayerFromLegacyPthUnderEmaKey) {
  const std::string dir = convert("single", "single");
  const auto model = sana_video2::Transformer::load(dir + "/transformer");
  EXPECT_EQ(model->config().softmax_layers, (std::vector<int64_t>{0}));
  check_case(*model, kGold + "single/scalar", false);
}

std::string convert_error(const std::string& yaml_text, const std::string& out_name,
                          const std::string& pth = kGold + "tiny/model.pth") {
  const fs::path yaml = scratch(out_name + ".yaml");
  std::ofstream(yaml) << yaml_text;
  const fs::path out = scratch(out_name);
  char err[512] = {0};
  EXPECT_NE(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), out.c_str(), nullptr, err, sizeof err), SV_OK);
  EXPECT_FALSE(fs::exists(out)) << "a failed conversion left " << out;
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  return err;
}

std::string tiny_yaml() {
  std::ifstream f(kGold + "tiny/config.yaml");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string replace(std::string s, const std::string& a, const std::string& b) {
  const auto at = s.find(a);
  EXPECT_NE(at, std::string::npos) << a;
  return at == std::string::npos ? s : s.replace(at, a.size(), b);
}

TEST(SanaVideo2, ConvertRefusesWhatItCannotRun) {
  EXPECT_NE(convert_error(replace(tiny_yaml(), "ffn_type: SwiGLU", "ffn_type: GLUMBConv"), "ffn").find("model.ffn_type"),
            std::string::npos);
  EXPECT_NE(convert_error(replace(tiny_yaml(), "ffn_type: SwiGLU\n", "ffn_type: SwiGLU\n  rope_fhw_dim: [8, 4, 4]\n"), "fhw").find("model.rope_fhw_dim"),
            std::string::npos);
  EXPECT_NE(convert_error(replace(tiny_yaml(), "model: SanaVideo2\n", "model: SanaMS_1600M_P1_D20\n"), "arch")
                .find("model.model"),
            std::string::npos);
  // A config that does not describe the checkpoint: the weights' shapes say so, and nothing is written.
  const std::string shapes = convert_error(replace(tiny_yaml(), "mlp_ratio: 2.5", "mlp_ratio: 4.0"), "shapes");
  EXPECT_NE(shapes.find("mlp"), std::string::npos) << shapes;
  EXPECT_NE(convert_error("model: [1, 2", "yaml").find("YAML"), std::string::npos);
  // More block sums than the routing takes: named at load, not at the end of the first forward.
  try {
    sana_video2::Config::from_json(io::JsonConfig::parse(R"({"depth": 32, "attn_res_block_size": 2})", "cfg"));
    ADD_FAILURE() << "17 routing sources accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("17 routing sources"), std::string::npos) << e.what();
  }
  // A hostile .pth is refused before anything is read or written.
  EXPECT_NE(convert_error(tiny_yaml(), "hostile", std::string(SV_TEST_DATA) + "/pth/hostile_os_system.pth")
                .find("posix.system"),
            std::string::npos);
  // An existing output folder is never overwritten.
  const fs::path taken = scratch("taken");
  fs::create_directories(taken);
  char err[512] = {0};
  const std::string pth = kGold + "tiny/model.pth", yaml = kGold + "tiny/config.yaml";
  EXPECT_NE(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), taken.c_str(), nullptr, err, sizeof err), SV_OK);
  EXPECT_NE(std::string(err).find("already exists"), std::string::npos) << err;
}

TEST(SanaVideo2, ConvertOutputNamedWithASlashAndAStalePartial) {
  const fs::path out = scratch("slash");
  char err[512] = {0};
  const std::string pth = kGold + "tiny/model.pth", yaml = kGold + "tiny/config.yaml";
  const std::string with_slash = out.string() + "/";
  ASSERT_EQ(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), with_slash.c_str(), nullptr, err, sizeof err), SV_OK) << err;
  EXPECT_TRUE(fs::exists(out / "transformer" / "config.json"));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  // A folder left by an interrupted conversion is reported, not silently deleted.
  const fs::path out2 = scratch("stale");
  fs::create_directories(out2.string() + ".partial");
  EXPECT_NE(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), out2.c_str(), nullptr, err, sizeof err), SV_OK);
  EXPECT_NE(std::string(err).find(".partial"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out2));
}

TEST(SanaVideo2, PlainStateDictToSafetensors) {
  const fs::path out = scratch("plain.safetensors");
  char err[512] = {0};
  const std::string pth = std::string(SV_TEST_DATA) + "/pth/legacy.pth";
  // Two state dicts in the file: the caller must name one.
  EXPECT_NE(sv_convert_checkpoint(pth.c_str(), nullptr, out.c_str(), nullptr, err, sizeof err), SV_OK);
  EXPECT_NE(std::string(err).find("--key"), std::string::npos) << err;
  ASSERT_EQ(sv_convert_checkpoint(pth.c_str(), nullptr, out.c_str(), "state_dict", err, sizeof err), SV_OK) << err;
  const io::TensorSource got = io::TensorSource::open(out.string());
  const io::TensorSource exp = io::TensorSource::open(std::string(SV_TEST_DATA) + "/pth/expected.safetensors");
  EXPECT_EQ(got.names().size(), 10u);
  for (const std::string& n : got.names()) {
    const Tensor a = got.get(n), b = exp.get("state_dict/" + n);
    EXPECT_EQ(a.dtype(), b.dtype()) << n;
    ASSERT_EQ(a.shape(), b.shape()) << n;
    EXPECT_EQ(std::memcmp(a.contiguous().raw(), b.contiguous().raw(), a.nbytes()), 0) << n;
  }
}

// The whole release path on the tiny model, the LTX-2.3-layout VAE and a tiny Gemma-2, against
// make_sv2_pipeline_goldens.py (NVIDIA's model and samplers, transformers, diffusers' VAE): the prompt
// embeddings, the final latents and the decoded frames of the 50-step-style DPM run and the DMD preview.
std::string assemble_pipeline() {
  const fs::path dir = scratch("pipeline");
  char err[512] = {0};
  const std::string pth = kGold + "tiny/model.pth", yaml = kGold + "pipeline/config.yaml";
  EXPECT_EQ(sv_convert_checkpoint(pth.c_str(), yaml.c_str(), dir.c_str(), nullptr, err, sizeof err), SV_OK) << err;
  const std::string g = std::string(SV_TEST_DATA);
  fs::create_directory_symlink(fs::absolute(g + "/ltx2_vae/c"), dir / "vae");
  fs::create_directory_symlink(fs::absolute(g + "/ltx2_pipeline/tiny_720/text_encoder"), dir / "text_encoder");
  fs::create_directory_symlink(fs::absolute(g + "/ltx2_pipeline/tiny_720/tokenizer"), dir / "tokenizer");
  return dir.string();
}

TEST(SanaVideo2Pipeline, TextAndImageToVideoMatchTheRelease) {
  const std::string dir = assemble_pipeline();
  const auto pipe = pipeline::VideoPipeline::load(dir);
  EXPECT_NE(pipe->default_negative_prompt().find("A chaotic sequence"), std::string::npos);
  EXPECT_EQ(pipe->sana_video(), nullptr);
  // The converted folder carries the release's settings.
  const io::JsonConfig d = io::JsonConfig::load(dir + "/generation_defaults.json");
  EXPECT_EQ(d.get_int("width"), 1280);
  EXPECT_EQ(d.get_int("height"), 736);
  EXPECT_EQ(d.get_int("max_sequence_length"), 8);
  EXPECT_EQ(d.get_float("shift"), 12.0);
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(kGold + "pipeline/cases.json"));
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    pipeline::GenerateParams p;
    p.prompt = c["prompt"].get<std::string>();
    p.negative_prompt = c["negative_prompt"].get<std::string>();
    p.motion_score = c["motion_score"].get<int>();
    p.height = c["height"].get<int>(), p.width = c["width"].get<int>(), p.frames = c["frames"].get<int>();
    p.steps = c["steps"].get<int>();
    p.guidance_scale = c["guidance_scale"].get<double>();
    p.shift = c["shift"].get<double>();
    p.seed = c["seed"].get<uint64_t>();
    p.sampler = c["sampler"].get<std::string>();
    if (c.contains("image")) p.image_path = std::string(SV_TEST_DATA) + "/" + c["image"].get<std::string>();
    Context ctx(Device::CPU, 2);
    const io::TensorSource ref = io::TensorSource::open(kGold + "pipeline/" + name + ".safetensors");
    {  // The release's prompt handling: its CHI, the motion-score suffix, no lower-casing.
      const auto tok = text::Tokenizer::load(dir + "/tokenizer");
      const auto enc = gemma2::Gemma2Model::load(dir + "/text_encoder");
      const io::JsonConfig d2 = io::JsonConfig::load(dir + "/generation_defaults.json");
      std::vector<std::string> chi;
      for (const auto& l : d2.json()["chi_prompt"]) chi.push_back(l.get<std::string>());
      pipeline::PromptEncoder pe(*tok, *enc, false);
      const auto pos = pe.encode(ctx, {pipeline::with_motion_score(p.prompt, p.motion_score)}, chi, 8);
      SV_EXPECT_CLOSE(pos.embeds, ref.get("prompt_embeds"), 1e-4, "prompt embeddings");
      SV_EXPECT_CLOSE(pos.mask.to(DType::F32), ref.get("prompt_mask"), 0.0, "prompt mask");
      const auto neg = pe.encode_negative(ctx, {p.negative_prompt}, 8);
      SV_EXPECT_CLOSE(neg.embeds, ref.get("negative_embeds"), 1e-4, "negative embeddings");
    }
    std::vector<Tensor> chunks;
    pipeline::GenerateCallbacks cb;
    cb.on_frames = [&](const Tensor& f) { chunks.push_back(f); };
    const pipeline::GenerateResult r = pipe->generate(ctx, p, cb);
    SV_EXPECT_CLOSE(r.latents, ref.get("latents"), 1e-3, "final latents");
    const Tensor frames = ops::cat(ctx, chunks, 2);
    SV_EXPECT_CLOSE(frames, ref.get("frames"), 1e-3, "frames");
  }
}

// NVIDIA's image-to-video preprocessing (resize_crop_to_fill_image: Pillow BICUBIC to cover, centre crop
// at Python-rounded offsets), byte for byte, for both crop directions.
TEST(SanaVideo2Pipeline, ImageFillCropIsTheOfficialOneBitForBit) {
  const io::TensorSource ref = io::TensorSource::open(kGold + "pipeline/image_fill_crop.safetensors");
  ASSERT_EQ(ref.names().size(), 6u);
  for (const std::string& name : ref.names()) {
    const auto x = name.rfind('_');
    const std::string file = name.substr(0, x), size = name.substr(x + 1);
    const int h = std::stoi(size.substr(0, size.find('x'))), w = std::stoi(size.substr(size.find('x') + 1));
    const io::Image img = io::resize_fill_crop_official(io::read_image(std::string(SV_TEST_DATA) + "/images/" + file), w, h);
    const Tensor r = ref.get(name);
    ASSERT_EQ(r.shape(), Shape({h, w, 3})) << name;
    EXPECT_EQ(std::memcmp(img.rgb.data(), r.raw(), img.rgb.size()), 0) << name;
  }
}

TEST(SanaVideo2Pipeline, RefusesWhatTheReleaseDoesNotRun) {
  const auto pipe = pipeline::VideoPipeline::load(assemble_pipeline());
  pipeline::GenerateParams p;
  p.height = 64, p.width = 64, p.frames = 9, p.steps = 4, p.guidance_scale = 8.0;
  auto error = [&](const pipeline::GenerateParams& q) {
    try {
      pipe->validate(q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error(p), "");
  pipeline::GenerateParams q = p;
  q.sampler = "dmd";
  EXPECT_NE(error(q).find("without guidance"), std::string::npos);
  q.guidance_scale = 1.0, q.steps = 5;
  EXPECT_NE(error(q).find("exactly 4 steps"), std::string::npos);
  q = p, q.sampler = "unipc";
  EXPECT_NE(error(q).find("unknown sampler"), std::string::npos);
  q = p, q.frames = 10;
  EXPECT_NE(error(q).find("nearest valid: 9"), std::string::npos);
  q = p, q.width = 80;
  EXPECT_NE(error(q).find("multiple of 32"), std::string::npos);
  q = p, q.resolution_binning = true;
  EXPECT_NE(error(q).find("no bucket table"), std::string::npos);
  q = p, q.frames = 8 * 1100 + 1;  // 1101 latent frames: past the rotary tables
  EXPECT_NE(error(q).find("rotary positions"), std::string::npos);
  q = p, q.shift = std::nan("");
  EXPECT_NE(error(q).find("shift must be"), std::string::npos);
}

}  // namespace
}  // namespace sv
