// safetensors reader/writer and the weight binder, including hostile files.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "io/weight_binder.h"
#include "test_util.h"

namespace sv {
namespace {
namespace fs = std::filesystem;

std::string tmpdir() {
  const fs::path p = fs::temp_directory_path() / ("sv_test_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

// Raw file: 8-byte header length + header text + data bytes.
std::string write_raw(const std::string& name, const std::string& header, size_t data_bytes, int64_t hlen = -1) {
  const std::string path = tmpdir() + "/" + name;
  std::ofstream f(path, std::ios::binary);
  const uint64_t hl = hlen < 0 ? header.size() : static_cast<uint64_t>(hlen);
  f.write(reinterpret_cast<const char*>(&hl), 8);
  f << header;
  f << std::string(data_bytes, '\0');
  return path;
}

std::string error_of(const std::string& path) {
  try {
    io::SafetensorsFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripAndZeroCopy) {
  const std::string path = tmpdir() + "/rt.safetensors";
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = a.permute({1, 0});  // non-contiguous input is written densely
  io::write_safetensors(path, {{"a", a}, {"b", b}, {"h", a.to(DType::BF16)}});
  auto f = io::SafetensorsFile::open(path);
  EXPECT_EQ(f->get("a").to_vector(), a.to_vector());
  EXPECT_EQ(f->get("b").shape(), Shape({3, 2}));
  EXPECT_EQ(f->get("b").to_vector()[1], 4.0f);
  EXPECT_EQ(f->get("h").dtype(), DType::BF16);
  EXPECT_EQ(f->get("h").to_vector(), a.to_vector());
  EXPECT_FALSE(fs::exists(path + ".tmp" + std::to_string(::getpid())));
}

TEST(Safetensors, RejectsHostileFiles) {
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(write_raw("ok.st", ok, 8)), "");
  EXPECT_NE(error_of(write_raw("trunc.st", "", 0, -1).substr(0) + "x"), "");  // missing file
  {
    const std::string p = tmpdir() + "/short.st";
    std::ofstream(p, std::ios::binary) << "abc";
    EXPECT_NE(error_of(p).find("truncated"), std::string::npos);
  }
  EXPECT_NE(error_of(write_raw("hlen.st", ok, 8, 1 << 20)).find("past the end"), std::string::npos);
  EXPECT_NE(error_of(write_raw("json.st", "{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(write_raw("dtype.st", R"({"x":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}})", 8))
                .find("unknown dtype"),
            std::string::npos);
  EXPECT_NE(error_of(write_raw("range.st", ok, 4)).find("outside the data section"), std::string::npos);
  EXPECT_NE(error_of(write_raw("size.st", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("needs"),
            std::string::npos);
  EXPECT_NE(error_of(write_raw("neg.st", R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8))
                .find("bad dimension"),
            std::string::npos);
  EXPECT_NE(error_of(write_raw("ovl.st",
                               R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               12))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of(write_raw("huge.st", R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
            "");
  EXPECT_NE(error_of(write_raw("offs.st", R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)), "");
  // Every message names the file.
  EXPECT_NE(error_of(write_raw("named.st", "[]", 0)).find("named.st"), std::string::npos);
}

TEST(Safetensors, ShardedIndex) {
  const std::string dir = tmpdir() + "/sharded";
  fs::create_directories(dir);
  io::write_safetensors(dir + "/m-1.safetensors", {{"a", Tensor::from_vector({1, 2}, {2})}});
  io::write_safetensors(dir + "/m-2.safetensors", {{"b", Tensor::from_vector({3}, {1})}});
  std::ofstream(dir + "/diffusion_pytorch_model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"a":"m-1.safetensors","b":"m-2.safetensors"}})";
  const io::TensorSource src = io::TensorSource::open(dir);
  EXPECT_EQ(src.get("b").to_vector(), std::vector<float>{3});
  EXPECT_EQ(src.names().size(), 2u);
  std::ofstream(dir + "/diffusion_pytorch_model.safetensors.index.json")
      << R"({"weight_map":{"a":"m-2.safetensors","b":"m-2.safetensors"}})";
  EXPECT_THROW(io::TensorSource::open(dir), Error);
}

TEST(WeightBinder, MissingUnusedAndWrongShape) {
  const std::string path = tmpdir() + "/w.safetensors";
  io::write_safetensors(path, {{"w", Tensor::zeros({2, 3})}, {"extra", Tensor::zeros({1})}, {"h", Tensor::zeros({4}).to(DType::F16)}});
  const io::TensorSource src = io::TensorSource::open(path);
  io::WeightBinder b(src);
  EXPECT_THROW(b.take("w", {3, 2}), Error);
  EXPECT_NO_THROW(b.take("w", {2, 3}));
  EXPECT_EQ(b.take("h", {4}).dtype(), DType::F32);
  try {
    b.take("missing", {1});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'missing'"), std::string::npos);
  }
  try {
    b.finish();
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'extra'"), std::string::npos);
  }
}

}  // namespace
}  // namespace sv
