// A restricted unpickler for PyTorch checkpoints. It builds a plain value tree and executes nothing:
// the only callables it knows are the handful torch.save emits for a state dict (OrderedDict, the
// tensor/parameter rebuild functions, the typed storage classes), and it only records what they would
// build. Any other global, and every opcode that creates arbitrary objects (INST, OBJ, NEWOBJ, EXT*),
// is refused by name before a single tensor byte is read.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace sv::io {

// A tensor as the pickle describes it: a view into a storage that lives outside the pickle.
struct PickledTensor {
  std::string storage_key;  // persistent id key: the zip entry data/<key>, or the legacy storage id
  DType dtype = DType::F32;
  int64_t storage_numel = 0;
  int64_t offset = 0;  // in elements
  Shape shape, stride;
};

struct PickleValue;
using PickleRef = std::shared_ptr<const PickleValue>;

struct PickleValue {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String, Bytes, BigInt (little-endian two's complement bytes), Global ("module.name")
  std::vector<PickleRef> items;                          // Tuple, List
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // Dict, in insertion order
  PickledTensor tensor;                                  // Storage (key/dtype/numel), Tensor
  int depth = 1;                                         // nesting depth (bounded so teardown cannot overflow)
  bool sealed = false;  // nested in another value: never changed again (no reference cycles)

  bool is_dict() const { return kind == Kind::Dict; }
  bool is_tensor() const { return kind == Kind::Tensor; }
  bool is_string() const { return kind == Kind::String; }
  // Dict lookup by string key; null when absent.
  const PickleValue* get(const std::string& key) const;
  std::string describe() const;  // short type name for error messages ("dict", "tensor", "int", ...)
};

// Parses one pickle from `data` (stops at STOP; `consumed` receives the bytes used).
PickleRef unpickle(const uint8_t* data, size_t size, size_t* consumed = nullptr);

}  // namespace sv::io
