#include "io/safetensors.h"

#include "io/json_config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace sv::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// A header larger than this is not a checkpoint header; refuse before allocating for it.
constexpr uint64_t kMaxHeader = 256ull << 20;
}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SV_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    SV_THROW(path, ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    SV_THROW(path, ": truncated safetensors file (", size, " bytes, header length needs 8)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  SV_CHECK(map != MAP_FAILED, path, ": mmap failed: ", std::strerror(errno));
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->map_size_ = size;
  f->self_ = f;

  uint64_t hlen = 0;
  std::memcpy(&hlen, map, 8);  // little-endian on every platform we build for
  SV_CHECK(hlen <= kMaxHeader && hlen <= size - 8, path, ": header length ", hlen, " runs past the end of the file (",
           size, " bytes)");
  const char* hdr = static_cast<const char*>(map) + 8;
  json j;
  try {
    j = json::parse(hdr, hdr + hlen);
  } catch (const std::exception& e) {
    SV_THROW(path, ": header is not valid JSON (", e.what(), ")");
  }
  SV_CHECK(j.is_object(), path, ": header is not a JSON object");
  const uint64_t data_size = size - 8 - hlen;
  f->data_ = hdr + hlen;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      SV_CHECK(it->is_object(), path, ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) f->metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    const json& e = *it;
    SV_CHECK(e.is_object() && e.contains("dtype") && e.contains("shape") && e.contains("data_offsets"), path,
             ": tensor '", name, "' entry needs dtype, shape and data_offsets");
    TensorInfo info;
    info.name = name;
    SV_CHECK(e["dtype"].is_string() && dtype_from_name(e["dtype"].get<std::string>(), &info.dtype), path, ": tensor '",
             name, "' has unknown dtype ", e["dtype"].dump());
    SV_CHECK(e["shape"].is_array(), path, ": tensor '", name, "' shape is not an array");
    for (const auto& d : e["shape"]) {
      SV_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), path, ": tensor '", name,
               "' has a bad dimension ", d.dump());
      info.shape.push_back(d.get<int64_t>());
    }
    const auto& off = e["data_offsets"];
    SV_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), path,
             ": tensor '", name, "' data_offsets must be two non-negative integers");
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    SV_CHECK(info.begin <= info.end && info.end <= data_size, path, ": tensor '", name, "' offsets [", info.begin, ", ",
             info.end, ") lie outside the data section (", data_size, " bytes)");
    int64_t numel = 0;
    try {
      numel = shape_numel(info.shape);
    } catch (const Error&) {
      SV_THROW(path, ": tensor '", name, "' shape ", shape_str(info.shape), " is too large");
    }
    const uint64_t want = static_cast<uint64_t>(numel) * dtype_size(info.dtype);
    SV_CHECK(want / dtype_size(info.dtype) == static_cast<uint64_t>(numel) && want == info.end - info.begin, path,
             ": tensor '", name, "' holds ", info.end - info.begin, " bytes but ", dtype_name(info.dtype), " ",
             shape_str(info.shape), " needs ", want);
    f->infos_.emplace(name, std::move(info));
  }
  // Overlap check: sort by start; every range must end before the next starts.
  std::vector<const TensorInfo*> order;
  for (const auto& kv : f->infos_) order.push_back(&kv.second);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i)
    SV_CHECK(order[i - 1]->end <= order[i]->begin || order[i - 1]->begin == order[i - 1]->end ||
                 order[i]->begin == order[i]->end,
             path, ": tensors '", order[i - 1]->name, "' and '", order[i]->name, "' overlap");
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = infos_.find(name);
  SV_CHECK(it != infos_.end(), path_, ": no tensor named '", name, "'");
  const TensorInfo& info = it->second;
  auto self = self_.lock();
  return Tensor::from_blob(const_cast<char*>(data_ + info.begin), info.shape, info.dtype, self);
}

TensorSource TensorSource::open(const std::string& path_in) {
  std::string path = path_in;
  if (fs::is_directory(path)) {
    const char* candidates[] = {"diffusion_pytorch_model.safetensors", "model.safetensors",
                                "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json"};
    std::string found;
    for (const char* c : candidates)
      if (fs::exists(fs::path(path) / c)) {
        found = (fs::path(path) / c).string();
        break;
      }
    SV_CHECK(!found.empty(), path, ": no safetensors weights (diffusion_pytorch_model[.safetensors|.index.json] or model.*)");
    path = found;
  }
  TensorSource src;
  src.description_ = path;
  const std::string suffix = ".index.json";
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const json j = JsonConfig::load(path).json();
    SV_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), path,
             ": missing object field 'weight_map'");
    std::map<std::string, size_t> file_index;
    const fs::path dir = fs::path(path).parent_path();
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      SV_CHECK(it->is_string(), path, ": weight_map entry for '", it.key(), "' is not a file name");
      const std::string shard = it->get<std::string>();
      SV_CHECK(shard.find('/') == std::string::npos && shard.find("..") == std::string::npos, path,
               ": weight_map names a file outside the folder: ", shard);
      auto fi = file_index.find(shard);
      if (fi == file_index.end()) {
        src.files_.push_back(SafetensorsFile::open((dir / shard).string()));
        fi = file_index.emplace(shard, src.files_.size() - 1).first;
      }
      SV_CHECK(src.files_[fi->second]->has(it.key()), path, ": tensor '", it.key(), "' is mapped to ", shard,
               " but that shard does not hold it");
      src.where_[it.key()] = fi->second;
    }
    for (size_t i = 0; i < src.files_.size(); ++i)
      for (const auto& kv : src.files_[i]->tensors())
        SV_CHECK(src.where_.count(kv.first), src.files_[i]->path(), ": tensor '", kv.first,
                 "' is not listed in the index ", path);
  } else {
    src.files_.push_back(SafetensorsFile::open(path));
    for (const auto& kv : src.files_[0]->tensors()) src.where_[kv.first] = 0;
  }
  return src;
}

std::vector<std::string> TensorSource::names() const {
  std::vector<std::string> r;
  for (const auto& kv : where_) r.push_back(kv.first);
  return r;
}

Tensor TensorSource::get(const std::string& name) const {
  auto it = where_.find(name);
  SV_CHECK(it != where_.end(), description_, ": missing tensor '", name, "'");
  return files_[it->second]->get(name);
}

const TensorInfo& TensorSource::info(const std::string& name) const {
  auto it = where_.find(name);
  SV_CHECK(it != where_.end(), description_, ": missing tensor '", name, "'");
  return files_[it->second]->tensors().at(name);
}

std::string TensorSource::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? description_ : files_[it->second]->path();
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json hdr = json::object();
  if (!metadata.empty()) hdr["__metadata__"] = metadata;
  std::vector<Tensor> dense;
  uint64_t off = 0;
  for (const auto& [name, t] : tensors) {
    SV_CHECK(!hdr.contains(name), path, ": duplicate tensor name '", name, "'");
    Tensor c = t.to_host();  // device tensors are copied back
    hdr[name] = {{"dtype", dtype_name(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {off, off + c.nbytes()}}};
    off += c.nbytes();
    dense.push_back(c);
  }
  std::string h = hdr.dump();
  while ((h.size() + 8) % 8) h.push_back(' ');  // keep the data section 8-byte aligned
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  FILE* fp = std::fopen(tmp.c_str(), "wb");
  SV_CHECK(fp, path, ": cannot write: ", std::strerror(errno));
  const uint64_t hl = h.size();
  bool ok = std::fwrite(&hl, 8, 1, fp) == 1 && std::fwrite(h.data(), 1, h.size(), fp) == h.size();
  for (const Tensor& c : dense)
    if (ok && c.nbytes()) ok = std::fwrite(c.raw(), 1, c.nbytes(), fp) == c.nbytes();
  ok = (std::fclose(fp) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    SV_THROW(path, ": write failed: ", std::strerror(err));
  }
}

}  // namespace sv::io
