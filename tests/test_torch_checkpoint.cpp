// The .pth reader against files torch.save wrote (zip, legacy, protocol 4) and hostile pickles.
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "test_util.h"

namespace sv {
namespace {

const std::string kDir = std::string(SV_TEST_DATA) + "/pth/";
const char* kMarker = "/tmp/sv_pth_hostile_marker";

bool bytes_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.nbytes() == 0 || std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

class TorchCheckpointFormats : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchCheckpointFormats, TensorsMatchTorchSave) {
  const auto ck = io::TorchCheckpoint::open(kDir + GetParam());
  EXPECT_EQ(ck.legacy_format(), GetParam() == "legacy.pth");
  const auto expected = io::SafetensorsFile::open(kDir + "expected.safetensors");
  for (const std::string key : {"state_dict", "state_dict_ema"}) {
    const auto sd = ck.state_dict(key);
    size_t n_expected = 0;
    for (const auto& [name, info] : expected->tensors())
      if (name.rfind(key + "/", 0) == 0) ++n_expected;
    ASSERT_EQ(sd.size(), n_expected) << key;
    for (const auto& [name, t] : sd) {
      SCOPED_TRACE(key + "/" + name);
      const Tensor ref = expected->get(key + "/" + name);
      EXPECT_EQ(dtype_name(t.dtype()), std::string(dtype_name(ref.dtype())));
      EXPECT_EQ(shape_str(t.shape()), shape_str(ref.shape()));
      EXPECT_TRUE(bytes_equal(t, ref));
    }
  }
  // Plain values come through as values.
  const auto& root = ck.root();
  ASSERT_TRUE(root.get("step") && root.get("lr") && root.get("name") && root.get("nested"));
  EXPECT_EQ(root.get("step")->i, 7);
  EXPECT_EQ(root.get("lr")->f, 0.5);
  EXPECT_EQ(root.get("name")->s, "tiny");
  EXPECT_EQ(root.get("big")->kind, io::PickleValue::Kind::BigInt);
  // Two state dicts: choosing one is the caller's job.
  try {
    ck.state_dict();
    FAIL() << "ambiguous state dict accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--key"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Pth, TorchCheckpointFormats, ::testing::Values("zip.pth", "legacy.pth", "proto4.pth"));

TEST(TorchCheckpoint, SharedStorageViewsAreZeroCopy) {
  const auto ck = io::TorchCheckpoint::open(kDir + "zip.pth");
  const auto sd = ck.state_dict("state_dict");
  const Tensor* a = nullptr;
  const Tensor* tail = nullptr;
  for (const auto& [n, t] : sd) {
    if (n == "a") a = &t;
    if (n == "a_tail") tail = &t;
  }
  ASSERT_TRUE(a && tail);
  // The offset view points into the same mapped bytes, one row in.
  EXPECT_EQ(static_cast<const char*>(tail->raw()), static_cast<const char*>(a->raw()) + 4 * sizeof(float));
}

struct Hostile {
  const char* file;
  const char* says;
};

class TorchCheckpointHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(TorchCheckpointHostile, RefusedByNameAndNothingRuns) {
  ::unlink(kMarker);
  try {
    io::TorchCheckpoint::open(kDir + GetParam().file);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().says), std::string::npos) << e.what();
  }
  struct stat st {};
  EXPECT_NE(::stat(kMarker, &st), 0) << "the hostile pickle ran";
}

INSTANTIATE_TEST_SUITE_P(
    Pth, TorchCheckpointHostile,
    ::testing::Values(Hostile{"hostile_os_system.pth", "refusing global posix.system"},
                      Hostile{"hostile_eval.pth", "refusing global builtins.eval"},
                      Hostile{"hostile_nested_reduce.pth", "REDUCE calls a dict"},
                      Hostile{"hostile_in_tensor.pth", "refusing global posix.system"},
                      Hostile{"unsupported_newobj.pth", "NEWOBJ"},
                      Hostile{"legacy_hostile.pth", "refusing global posix.system"}));

// Crafted files from a review of the reader: each fails with its own clear error, at once, without
// reading outside the file or allocating for what the file does not hold.
TEST(TorchCheckpoint, CraftedViewsAndContainersAreRefused) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"review_bad_offset2.pth", "storage offset outside its storage"},       // offset near 2^63
      {"review_bad_stride_ovf2.pth", "tensor view out of range"},              // size x stride past int64
      {"review_bad_zip64_small.pth", "zip64 end record out of range"},        // a 50-byte "zip64" file
      {"review_bad_dag.pth", "holds a tuple, not a dict"},                     // 2^60 paths through shared tuples
      {"review_bad_stride0.pth", "stride 0 expansion"},                        // 1 GiB asked of a 4-byte storage
      {"review_bad_sealed_reuse.pth", "holds a list, not a dict"},             // [None]: valid, just not a dict
  };
  for (const auto& [file, says] : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const auto ck = io::TorchCheckpoint::open(kDir + file);
      ck.state_dict();
      ADD_FAILURE() << file << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << file << ": " << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << file;
  }
}

// Every prefix of a real checkpoint and every single-byte corruption of its pickle fails cleanly (or,
// for corruptions that keep it valid, still yields tensors inside the file).
TEST(TorchCheckpoint, TruncatedAndCorruptedFilesFailCleanly) {
  for (const char* f : {"zip.pth", "legacy.pth"}) {
    std::ifstream in(kDir + f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t n = 0; n < bytes.size(); n += 7) {
      auto buf = std::make_shared<std::string>(bytes.substr(0, n));
      EXPECT_THROW(io::TorchCheckpoint::from_memory(reinterpret_cast<const uint8_t*>(buf->data()), buf->size(), buf,
                                                    f),
                   Error)
          << f << " truncated to " << n;
    }
    for (size_t i = 0; i < bytes.size(); i += 3) {
      auto buf = std::make_shared<std::string>(bytes);
      (*buf)[i] = static_cast<char>((*buf)[i] ^ 0x5a);
      try {
        const auto ck =
            io::TorchCheckpoint::from_memory(reinterpret_cast<const uint8_t*>(buf->data()), buf->size(), buf, f);
        for (const char* k : {"state_dict", "state_dict_ema"}) {
          try {
            for (const auto& [n, t] : ck.state_dict(k)) (void)t.contiguous();
          } catch (const Error&) {
          }
        }
      } catch (const Error&) {
      }
    }
  }
}

TEST(Pickle, RefusesCyclesAndDeepNesting) {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: a list that contains itself.
  const std::string cyc = std::string("\x80\x02]q\x00h\x00\x61.", 9);
  EXPECT_THROW(io::unpickle(reinterpret_cast<const uint8_t*>(cyc.data()), cyc.size()), Error);
  std::string deep = "\x80\x02";
  deep += "N";
  for (int i = 0; i < 100000; ++i) deep += "\x85";  // TUPLE1, nested 100000 deep
  deep += ".";
  EXPECT_THROW(io::unpickle(reinterpret_cast<const uint8_t*>(deep.data()), deep.size()), Error);
}

}  // namespace
}  // namespace sv
