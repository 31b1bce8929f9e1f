#include "io/weight_binder.h"

namespace sv::io {

Tensor WeightBinder::bind(const std::string& name, const Shape& expected, bool keep_half, bool host) {
  SV_CHECK(src_.has(name), src_.description(), ": missing tensor '", name, "' (expected shape ", shape_str(expected), ")");
  const TensorInfo& info = src_.info(name);
  SV_CHECK(info.shape == expected, src_.file_of(name), ": tensor '", name, "' has shape ", shape_str(info.shape),
           " but the config implies ", shape_str(expected));
  SV_CHECK(dtype_is_float(info.dtype), src_.file_of(name), ": tensor '", name, "' has non-float dtype ",
           dtype_name(info.dtype));
  SV_CHECK(used_.insert(name).second, src_.description(), ": tensor '", name, "' bound twice");
  Tensor t = src_.get(name);
  if (on_device() && !host) {
    const DType want = keep_half && place_->compute_dtype() == DType::BF16 ? DType::BF16 : DType::F32;
    return place_->to_device(t.dtype() == want ? t : t.to(want));
  }
  const bool stored_ok = keep_half && (t.dtype() == DType::BF16 || t.dtype() == DType::F16);
  return t.dtype() == DType::F32 || stored_ok ? t : t.to(DType::F32);
}

Tensor WeightBinder::take(const std::string& name, const Shape& expected) { return bind(name, expected, false); }

Tensor WeightBinder::take_raw(const std::string& name, const Shape& expected) { return bind(name, expected, true); }

void WeightBinder::skip(const std::string& name, const Shape& expected) {
  SV_CHECK(src_.has(name), src_.description(), ": missing tensor '", name, "'");
  SV_CHECK(src_.info(name).shape == expected, src_.file_of(name), ": tensor '", name, "' has shape ",
           shape_str(src_.info(name).shape), " but the config implies ", shape_str(expected));
  SV_CHECK(used_.insert(name).second, src_.description(), ": tensor '", name, "' bound twice");
}

Tensor WeightBinder::take_host(const std::string& name, const Shape& expected) {
  return bind(name, expected, false, true).to(DType::F32);
}

Tensor WeightBinder::place(const Tensor& host) const { return on_device() ? place_->to_device(host) : host; }

void WeightBinder::finish() const {
  // Uploads ran on the placement context's stream; a model may then be used from another context.
  if (on_device()) place_->synchronize();
  std::string unused;
  int count = 0;
  for (const std::string& n : src_.names())
    if (!used_.count(n)) {
      if (count < 5) unused += (count ? ", '" : "'") + n + "'";
      ++count;
    }
  SV_CHECK(count == 0, src_.description(), ": ", count, " unused tensor(s) not part of this model: ", unused,
           count > 5 ? ", ..." : "");
}

}  // namespace sv::io
