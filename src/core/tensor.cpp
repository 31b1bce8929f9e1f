#include "core/tensor.h"

#include "core/device_runtime.h"

#include <cstdlib>
#include <numeric>

namespace sv {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    SV_CHECK(d >= 0, "negative dimension in shape ", shape_str(s));
    SV_CHECK(d == 0 || n <= INT64_MAX / d, "shape ", shape_str(s), " has too many elements");
    n *= d;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

namespace {
size_t checked_bytes(const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  const size_t esz = dtype_size(dtype);
  SV_CHECK(n == 0 || static_cast<uint64_t>(n) <= SIZE_MAX / esz, "tensor too large: ", shape_str(shape));
  return static_cast<size_t>(n) * esz;
}
}  // namespace

Tensor Tensor::wrap(std::shared_ptr<Storage> st, const Shape& shape, DType dtype) {
  Tensor t;
  t.storage_ = std::move(st);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device dev) {
  SV_CHECK(dev == Device::CPU, "Tensor::empty on ", device_name(dev), " needs the device allocator");
  auto st = std::make_shared<Storage>();
  st->bytes = checked_bytes(shape, dtype);
  // 64-byte alignment keeps SIMD loads aligned; round size up as aligned_alloc requires.
  const size_t alloc = ((st->bytes + 63) / 64) * 64;
  st->data = alloc ? std::aligned_alloc(64, alloc) : nullptr;
  SV_CHECK(alloc == 0 || st->data, "out of host memory allocating ", alloc, " bytes for ", shape_str(shape));
  st->release = [](void* p) { std::free(p); };
  return wrap(std::move(st), shape, dtype);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, const std::shared_ptr<Allocator>& alloc) {
  auto st = std::make_shared<Storage>();
  st->bytes = checked_bytes(shape, dtype);
  st->data = st->bytes ? alloc->allocate(st->bytes) : nullptr;
  const size_t bytes = st->bytes;
  st->device = alloc->device();
  st->allocator = alloc;  // the release lambda below relies on it outliving the block
  Allocator* a = alloc.get();
  st->release = [a, bytes](void* p) { a->deallocate(p, bytes); };
  return wrap(std::move(st), shape, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  if (t.storage_->bytes) std::memset(t.storage_->data, 0, t.storage_->bytes);
  return t;
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner, Device dev) {
  auto st = std::make_shared<Storage>();
  st->data = data;
  st->bytes = checked_bytes(shape, dtype);
  st->device = dev;
  st->owner = std::move(owner);
  return wrap(std::move(st), shape, dtype);
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& shape) {
  SV_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "from_vector: ", v.size(),
           " values for shape ", shape_str(shape));
  Tensor t = empty(shape);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}

int64_t Tensor::wrap_dim(int64_t d, int64_t n) const {
  if (d < 0) d += n;
  SV_CHECK(d >= 0 && d < n, "dimension ", d, " out of range for tensor of shape ", shape_str(shape_));
  return d;
}

int64_t Tensor::size(int64_t d) const { return shape_[wrap_dim(d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return strides_[wrap_dim(d, dim())]; }

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

void* Tensor::raw() const {
  SV_CHECK(storage_, "access to an undefined tensor");
  return static_cast<char*>(storage_->data) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

float* Tensor::f32() const {
  SV_CHECK(dtype_ == DType::F32, "expected an F32 tensor, got ", dtype_name(dtype_));
  SV_CHECK(device() == Device::CPU, "expected a CPU tensor");
  return data<float>();
}

Tensor Tensor::reshape(const Shape& shape) const {
  SV_CHECK(is_contiguous(), "reshape of a non-contiguous tensor ", shape_str(shape_));
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      SV_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      SV_CHECK(s[i] >= 0, "reshape: bad target shape ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    SV_CHECK(known > 0 && numel() % known == 0, "reshape ", shape_str(shape_), " -> ", shape_str(shape));
    s[infer] = numel() / known;
  }
  SV_CHECK(shape_numel(s) == numel(), "reshape ", shape_str(shape_), " -> ", shape_str(shape), ": element count differs");
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  SV_CHECK(static_cast<int64_t>(order.size()) == dim(), "permute: order has ", order.size(), " dims, tensor ", dim());
  Tensor t = *this;
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t d = wrap_dim(order[i], dim());
    SV_CHECK(!seen[d], "permute: repeated dimension");
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim());
  SV_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d], "narrow(", d, ", ", start, ", ", length,
           ") out of range for ", shape_str(shape_));
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = length;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim());
  Tensor t = narrow(d, index, 1);
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  if (d < 0) d += dim() + 1;
  SV_CHECK(d >= 0 && d <= dim(), "unsqueeze dim out of range");
  Tensor t = *this;
  const int64_t st = d < dim() ? strides_[d] * shape_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return t;
}

namespace {
// Visit every element of a strided view in row-major order, calling f(src_elem_index, dst_linear).
template <typename F>
void for_each_index(const Shape& shape, const Shape& strides, int64_t base, F&& f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (nd == 0) {
    f(base, 0);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  int64_t off = base;
  const int64_t inner = shape[nd - 1], inner_st = strides[nd - 1];
  for (int64_t lin = 0; lin < n; lin += inner) {
    for (int64_t j = 0; j < inner; ++j) f(off + j * inner_st, lin + j);
    for (int64_t d = nd - 2; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

double load_as_double(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::I64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::I32: return static_cast<const int32_t*>(base)[i];
    case DType::I16: return static_cast<const int16_t*>(base)[i];
    case DType::I8: return static_cast<const int8_t*>(base)[i];
    case DType::U8: case DType::Bool: return static_cast<const uint8_t*>(base)[i];
  }
  return 0;
}

void store_from_double(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::F64: static_cast<double*>(base)[i] = v; break;
    case DType::F16: static_cast<uint16_t*>(base)[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::BF16: static_cast<uint16_t*>(base)[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::I64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case DType::I32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case DType::I16: static_cast<int16_t*>(base)[i] = static_cast<int16_t>(v); break;
    case DType::I8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(v); break;
    case DType::U8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
    case DType::Bool: static_cast<uint8_t*>(base)[i] = v != 0; break;
  }
}
}  // namespace

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const { return to(dtype_); }

Tensor Tensor::to(DType dst) const {
  if (device() != Device::CPU) {
    SV_CHECK(storage_->allocator, "a device tensor without an allocator cannot be copied");
    Tensor out = empty(shape_, dst, storage_->allocator);
    if (numel()) device_copy_strided(*this, out);
    return out;
  }
  Tensor out = empty(shape_, dst);
  const char* sbase = static_cast<const char*>(storage_->data);
  void* obase = out.raw();
  const size_t es = dtype_size(dtype_);
  if (dst == dtype_) {
    char* o = static_cast<char*>(obase);
    for_each_index(shape_, strides_, offset_, [&](int64_t s, int64_t d) { std::memcpy(o + d * es, sbase + s * es, es); });
  } else if (dst == DType::F32 && dtype_ == DType::BF16) {
    const uint16_t* s16 = reinterpret_cast<const uint16_t*>(sbase);
    float* o = static_cast<float*>(obase);
    for_each_index(shape_, strides_, offset_, [&](int64_t s, int64_t d) { o[d] = bf16_to_f32(s16[s]); });
  } else {
    for_each_index(shape_, strides_, offset_,
                   [&](int64_t s, int64_t d) { store_from_double(obase, dst, d, load_as_double(sbase, dtype_, s)); });
  }
  return out;
}

Tensor Tensor::to_host() const {
  if (device() == Device::CPU) return contiguous();
  const Tensor c = contiguous();
  Tensor out = empty(shape_, dtype_);
  if (c.nbytes()) device_to_host(out.raw(), c.raw(), c.nbytes());
  return out;
}

std::vector<float> Tensor::to_vector() const {
  Tensor t = to_host().to(DType::F32);
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

}  // namespace sv
