// PyTorch checkpoints (.pth/.pt from torch.save), read without Python and without running the pickle:
// the zip container (torch >= 1.6; stored entries, zip64) and the legacy stream format. The object tree
// comes from the restricted unpickler (io/pickle.h); tensors are zero-copy views of the mapped file
// when they are contiguous, copies otherwise.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/pickle.h"

namespace sv::io {

class TorchCheckpoint {
 public:
  // Parses the container and the whole pickle; nothing of the tensor data is read yet, so a refused
  // pickle never gets that far.
  static TorchCheckpoint open(const std::string& path);
  // The same from bytes in memory (tests, fuzzing); `owner` keeps them alive.
  static TorchCheckpoint from_memory(const uint8_t* data, size_t size, std::shared_ptr<void> owner,
                                     const std::string& name);

  const PickleValue& root() const { return *root_; }
  const std::string& path() const { return path_; }
  bool legacy_format() const { return legacy_; }

  // The tensor a pickled record describes (a view of the file when contiguous, else a contiguous copy).
  Tensor tensor(const PickledTensor& t) const;

  // The state dict inside the checkpoint: `key` names a top-level entry ("state_dict", ...); empty picks
  // the root when it is a dict of tensors, else the one entry among generator / state_dict_ema /
  // state_dict / model / module that holds tensors (more than one is an error naming them).
  // Non-tensor entries are skipped and listed in `skipped`.
  std::vector<std::pair<std::string, Tensor>> state_dict(const std::string& key = "",
                                                         std::vector<std::string>* skipped = nullptr,
                                                         std::string* chosen = nullptr) const;

 private:
  struct StorageBlob {
    std::string key;
    const uint8_t* data = nullptr;
    uint64_t bytes = 0;
  };
  std::string path_;
  std::shared_ptr<void> owner_;
  PickleRef root_;
  std::unordered_map<std::string, StorageBlob> storages_;
  uint64_t file_bytes_ = 0;
  mutable uint64_t copied_ = 0;  // bytes of tensor copies made so far (bounded by the file's size)
  bool legacy_ = false;

  void parse(const uint8_t* data, size_t size);
  void parse_zip(const uint8_t* data, size_t size);
  void parse_legacy(const uint8_t* data, size_t size);
  const StorageBlob& storage(const std::string& key) const;
};

}  // namespace sv::io
