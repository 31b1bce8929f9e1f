// safetensors reading (memory-mapped, validated before any data is touched) and writing
// (to a temporary name, renamed when complete). Sharded checkpoints via *.safetensors.index.json.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace sv::io {

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
};

// One mapped .safetensors file. Tensors returned by get() are zero-copy views that keep the map alive.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return infos_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return infos_.count(name) != 0; }
  Tensor get(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const char* data_ = nullptr;  // start of the data section
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
  std::weak_ptr<SafetensorsFile> self_;
};

// A set of files addressed by tensor name: a single file or the shards of an index.
class TensorSource {
 public:
  // `path` is a .safetensors file, a *.safetensors.index.json, or a directory holding either
  // (diffusers' diffusion_pytorch_model*, transformers' model*).
  static TensorSource open(const std::string& path);

  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return where_.count(name) != 0; }
  Tensor get(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  std::string file_of(const std::string& name) const;
  const std::string& description() const { return description_; }

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;
  std::string description_;
};

// Write tensors (any dtype, any device-CPU layout) to `path` atomically.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace sv::io
