#include "io/torch_checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_set>

#include "core/error.h"

namespace sv::io {

namespace {

uint64_t rd(const uint8_t* p, int k) {
  uint64_t v = 0;
  for (int i = 0; i < k; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

struct ZipEntry {
  uint64_t data_offset = 0, size = 0;
};

// The central directory of a zip whose entries are stored (torch.save never compresses), zip64 included.
std::map<std::string, ZipEntry> read_zip_directory(const uint8_t* d, uint64_t n) {
  SV_CHECK(n >= 22, "zip: too short for an end-of-central-directory record");
  // The EOCD record sits in the last 22 + 65535 (comment) bytes.
  uint64_t eocd = UINT64_MAX;
  const uint64_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
  for (uint64_t p = n - 22 + 1; p-- > lo;) {
    if (rd(d + p, 4) == 0x06054b50) {
      eocd = p;
      break;
    }
  }
  SV_CHECK(eocd != UINT64_MAX, "zip: no end-of-central-directory record");
  uint64_t count = rd(d + eocd + 10, 2), cd_size = rd(d + eocd + 12, 4), cd_off = rd(d + eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {
    SV_CHECK(eocd >= 20 && rd(d + eocd - 20, 4) == 0x07064b50, "zip: zip64 locator missing");
    const uint64_t z64 = rd(d + eocd - 20 + 8, 8);
    SV_CHECK(n >= 56 && z64 <= n - 56 && rd(d + z64, 4) == 0x06064b50, "zip: zip64 end record out of range");
    count = rd(d + z64 + 32, 8);
    cd_size = rd(d + z64 + 40, 8);
    cd_off = rd(d + z64 + 48, 8);
  }
  SV_CHECK(cd_off <= n && cd_size <= n - cd_off, "zip: central directory runs past the end of the file");
  SV_CHECK(count <= cd_size / 46, "zip: ", count, " entries cannot fit a ", cd_size, "-byte directory");
  std::map<std::string, ZipEntry> out;
  uint64_t p = cd_off;
  const uint64_t end = cd_off + cd_size;
  for (uint64_t e = 0; e < count; ++e) {
    SV_CHECK(end - p >= 46 && rd(d + p, 4) == 0x02014b50, "zip: bad central directory entry ", e);
    const uint64_t flags = rd(d + p + 8, 2), method = rd(d + p + 10, 2);
    uint64_t csize = rd(d + p + 20, 4), usize = rd(d + p + 24, 4);
    const uint64_t nlen = rd(d + p + 28, 2), xlen = rd(d + p + 30, 2), clen = rd(d + p + 32, 2);
    uint64_t local = rd(d + p + 42, 4);
    SV_CHECK(nlen + xlen + clen <= end - p - 46, "zip: central directory entry ", e, " runs past the directory");
    const std::string name(reinterpret_cast<const char*>(d + p + 46), nlen);
    // zip64 extra field: the 64-bit values of exactly the fields that read 0xFFFFFFFF, in this order.
    const uint8_t* x = d + p + 46 + nlen;
    for (uint64_t q = 0; q + 4 <= xlen;) {
      const uint64_t id = rd(x + q, 2), len = rd(x + q + 2, 2);
      SV_CHECK(q + 4 + len <= xlen, "zip: extra field of ", name, " runs past its entry");
      if (id == 0x0001) {
        uint64_t r = q + 4;
        auto take = [&](uint64_t* v) {
          if (*v != 0xFFFFFFFF) return;
          SV_CHECK(r + 8 <= q + 4 + len, "zip: short zip64 field for ", name);
          *v = rd(x + r, 8);
          r += 8;
        };
        take(&usize);
        take(&csize);
        take(&local);
      }
      q += 4 + len;
    }
    SV_CHECK(!(flags & 1), "zip: entry ", name, " is encrypted");
    SV_CHECK(method == 0, "zip: entry ", name, " is compressed (method ", method,
             "); torch.save writes stored entries");
    SV_CHECK(csize == usize, "zip: stored entry ", name, " has different packed and unpacked sizes");
    SV_CHECK(local <= n && n - local >= 30 && rd(d + local, 4) == 0x04034b50, "zip: bad local header for ", name);
    const uint64_t data = local + 30 + rd(d + local + 26, 2) + rd(d + local + 28, 2);
    SV_CHECK(data <= n && usize <= n - data, "zip: entry ", name, " runs past the end of the file");
    SV_CHECK(out.emplace(name, ZipEntry{data, usize}).second, "zip: duplicate entry ", name);
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

// Every tensor record in the tree (storage key, dtype, numel), each shared value visited once: memo
// references can make a tree with exponentially many paths.
void collect_tensors(const PickleValue& v, const std::function<void(const PickledTensor&)>& fn,
                     std::unordered_set<const PickleValue*>* seen) {
  if (!seen->insert(&v).second) return;
  if (v.kind == PickleValue::Kind::Tensor) fn(v.tensor);
  for (const auto& it : v.items) collect_tensors(*it, fn, seen);
  for (const auto& e : v.entries) collect_tensors(*e.second, fn, seen);
}
void collect_tensors(const PickleValue& v, const std::function<void(const PickledTensor&)>& fn) {
  std::unordered_set<const PickleValue*> seen;
  collect_tensors(v, fn, &seen);
}

std::string shown(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c >= 32 && c < 127) ? c : '?';
  return out;
}

bool holds_tensors(const PickleValue& v) {
  if (!v.is_dict()) return false;
  for (const auto& e : v.entries)
    if (e.second->is_tensor()) return true;
  return false;
}

}  // namespace

TorchCheckpoint TorchCheckpoint::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SV_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    ::close(fd);
    SV_THROW(path, ": not a regular non-empty file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  SV_CHECK(map != MAP_FAILED, path, ": mmap failed: ", std::strerror(errno));
  std::shared_ptr<void> owner(map, [size](void* m) { ::munmap(m, size); });
  return from_memory(static_cast<const uint8_t*>(map), size, owner, path);
}

TorchCheckpoint TorchCheckpoint::from_memory(const uint8_t* data, size_t size, std::shared_ptr<void> owner,
                                             const std::string& name) {
  TorchCheckpoint c;
  c.path_ = name;
  c.owner_ = std::move(owner);
  try {
    c.parse(data, size);
  } catch (const Error& e) {
    SV_THROW(name, ": ", e.what());
  }
  return c;
}

void TorchCheckpoint::parse(const uint8_t* data, size_t size) {
  if (size >= 4 && rd(data, 4) == 0x04034b50) return parse_zip(data, size);
  if (size >= 2 && data[0] == 0x80) return parse_legacy(data, size);
  SV_THROW("not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream)");
}

void TorchCheckpoint::parse_zip(const uint8_t* data, size_t size) {
  const auto entries = read_zip_directory(data, size);
  std::string prefix;
  for (const auto& [name, e] : entries) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      SV_CHECK(prefix.empty(), "zip holds more than one data.pkl");
      prefix = name.substr(0, slash + 1);
    }
  }
  SV_CHECK(!prefix.empty(), "zip archive without a <name>/data.pkl (not a torch.save file)");
  auto bo = entries.find(prefix + "byteorder");
  if (bo != entries.end()) {
    const std::string order(reinterpret_cast<const char*>(data + bo->second.data_offset), bo->second.size);
    SV_CHECK(order == "little", "byte order '", shown(order), "' is not supported");
  }
  const ZipEntry& pkl = entries.at(prefix + "data.pkl");
  root_ = unpickle(data + pkl.data_offset, pkl.size);
  file_bytes_ = size;
  collect_tensors(*root_, [&](const PickledTensor& t) {
    if (storages_.count(t.storage_key)) return;
    auto it = entries.find(prefix + "data/" + t.storage_key);
    SV_CHECK(it != entries.end(), "storage ", shown(t.storage_key), " is missing from the archive");
    storages_[t.storage_key] = {t.storage_key, data + it->second.data_offset, it->second.size};
  });
}

void TorchCheckpoint::parse_legacy(const uint8_t* data, size_t size) {
  legacy_ = true;
  file_bytes_ = size;
  size_t pos = 0, used = 0;
  auto next = [&]() {
    PickleRef v = unpickle(data + pos, size - pos, &used);
    pos += used;
    return v;
  };
  // 0x1950a86a20f9469cfc6c, little-endian: the legacy format's magic number.
  static const uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  PickleRef magic = next();
  SV_CHECK(magic->kind == PickleValue::Kind::BigInt && magic->s.size() == sizeof(kMagic) &&
               std::memcmp(magic->s.data(), kMagic, sizeof(kMagic)) == 0,
           "legacy pickle stream without the torch.save magic number");
  PickleRef proto = next();
  SV_CHECK(proto->kind == PickleValue::Kind::Int && proto->i == 1001, "legacy protocol version is not 1001");
  PickleRef sys = next();
  const PickleValue* le = sys->get("little_endian");
  SV_CHECK(le && le->kind == PickleValue::Kind::Bool && le->b, "big-endian legacy checkpoints are not supported");
  root_ = next();
  PickleRef keys = next();
  SV_CHECK(keys->kind == PickleValue::Kind::List, "legacy storage key list missing");
  std::map<std::string, PickledTensor> info;
  collect_tensors(*root_, [&](const PickledTensor& t) { info.emplace(t.storage_key, t); });
  for (const auto& k : keys->items) {
    SV_CHECK(k->is_string(), "legacy storage key is not a string");
    auto it = info.find(k->s);
    SV_CHECK(it != info.end(), "legacy storage ", shown(k->s), " is not used by any tensor");
    SV_CHECK(!storages_.count(k->s), "legacy storage ", shown(k->s), " is listed twice");
    SV_CHECK(size - pos >= 8, "legacy storage ", shown(k->s), " is truncated");
    const uint64_t numel = rd(data + pos, 8);
    pos += 8;
    SV_CHECK(numel == static_cast<uint64_t>(it->second.storage_numel), "legacy storage ", shown(k->s), " holds ",
             numel, " elements, its tensors say ", it->second.storage_numel);
    const uint64_t bytes = numel * dtype_size(it->second.dtype);
    SV_CHECK(bytes <= size - pos, "legacy storage ", shown(k->s), " runs past the end of the file");
    storages_[k->s] = {k->s, data + pos, bytes};
    pos += bytes;
  }
  for (const auto& [k, t] : info) storage(k);  // every tensor's storage must be present
}

const TorchCheckpoint::StorageBlob& TorchCheckpoint::storage(const std::string& key) const {
  auto it = storages_.find(key);
  SV_CHECK(it != storages_.end(), path_, ": storage ", shown(key), " is missing");
  return it->second;
}

Tensor TorchCheckpoint::tensor(const PickledTensor& t) const {
  const StorageBlob& blob = storage(t.storage_key);
  const size_t es = dtype_size(t.dtype);
  SV_CHECK(blob.bytes / es >= static_cast<uint64_t>(t.storage_numel), path_, ": storage ", t.storage_key, " holds ",
           blob.bytes, " bytes, fewer than its ", t.storage_numel, " elements");
  int64_t n = 0;
  try {
    n = shape_numel(t.shape);
  } catch (const Error& e) {
    SV_THROW(path_, ": ", e.what());
  }
  if (n == 0) return Tensor::empty(t.shape, t.dtype);
  const uint8_t* base = blob.data + static_cast<size_t>(t.offset) * es;
  bool contiguous = true;
  int64_t expect = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expect) contiguous = false;
    expect *= t.shape[d];
  }
  // Legacy files do not align their storages: those views are copied, so no kernel reads a misaligned value.
  const bool aligned = reinterpret_cast<uintptr_t>(base) % es == 0;
  if (contiguous && aligned) return Tensor::from_blob(const_cast<uint8_t*>(base), t.shape, t.dtype, owner_);
  // Copies are bounded: a view may not hold more elements than its storage (no stride-0 expansion), and
  // all copies together stay within twice the file, so a small file cannot ask for a huge allocation.
  SV_CHECK(n <= t.storage_numel, path_, ": a view of ", n, " elements over a storage of ", t.storage_numel,
           " (stride 0 expansion) is not supported");
  const uint64_t bytes = static_cast<uint64_t>(n) * es;
  SV_CHECK(copied_ + bytes <= 2 * file_bytes_ + (uint64_t{64} << 20), path_,
           ": its tensor views would copy more than twice the file's size");
  copied_ += bytes;
  if (contiguous) {
    Tensor out = Tensor::empty(t.shape, t.dtype);
    std::memcpy(out.raw(), base, static_cast<size_t>(n) * es);
    return out;
  }
  // A strided view (a transpose saved as is): gather it.
  Tensor out = Tensor::empty(t.shape, t.dtype);
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  std::vector<int64_t> idx(t.shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.stride[d];
    std::memcpy(dst + static_cast<size_t>(i) * es, base + static_cast<size_t>(off) * es, es);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> TorchCheckpoint::state_dict(const std::string& key,
                                                                        std::vector<std::string>* skipped,
                                                                        std::string* chosen) const {
  SV_CHECK(root_->is_dict(), path_, ": the checkpoint holds a ", root_->describe(), ", not a dict");
  const PickleValue* sd = nullptr;
  std::string name;
  if (!key.empty()) {
    sd = root_->get(key);
    SV_CHECK(sd, path_, ": no top-level entry '", key, "'");
    SV_CHECK(sd->is_dict(), path_, ": '", key, "' is a ", sd->describe(), ", not a state dict");
    name = key;
  } else if (holds_tensors(*root_)) {
    sd = root_.get();
  } else {
    std::string found;
    for (const char* k : {"generator", "state_dict_ema", "state_dict", "model", "module"}) {
      const PickleValue* v = root_->get(k);
      if (!v || !holds_tensors(*v)) continue;
      SV_CHECK(!sd, path_, ": holds both '", found, "' and '", k, "'; choose one with --key");
      sd = v;
      found = name = k;
    }
    SV_CHECK(sd, path_, ": no state dict found (top-level entries hold no tensors; name one with --key)");
  }
  if (chosen) *chosen = name;
  std::vector<std::pair<std::string, Tensor>> out;
  std::map<const PickleValue*, Tensor> made;  // one tensor referenced under several names is made once
  uint64_t total = 0;
  for (const auto& [k, v] : sd->entries) {
    SV_CHECK(k->is_string(), path_, ": state dict key is not a string");
    if (v->is_tensor()) {
      auto it = made.find(v.get());
      if (it == made.end()) it = made.emplace(v.get(), tensor(v->tensor)).first;
      // Names sharing one tensor are written once each: bound what a small file can make a caller write.
      total += it->second.nbytes();
      SV_CHECK(total <= 4 * file_bytes_ + (uint64_t{64} << 20), path_,
               ": its state dict names more tensor bytes than four times the file's size (shared tensors "
               "repeated under many names)");
      out.emplace_back(k->s, it->second);
    } else if (skipped) {
      skipped->push_back(k->s);
    }
  }
  return out;
}

}  // namespace sv::io
