// sana_video._core: the Python extension, a thin layer over the C API (sv/sv.h) and nothing else.
// The engine runs with the GIL released; its callbacks take the GIL only to reach Python. A Python
// exception raised in a callback (or Ctrl-C, seen through PyErr_CheckSignals at the engine's cancel
// polls) stops the engine at its next step or frame and is re-raised once the call returns.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include "sv/sv.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

struct CancelledError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void raise_status(sv_status s, const std::string& msg) {
  if (s == SV_ERROR_CANCELLED) throw CancelledError(msg.empty() ? "cancelled" : msg);
  PyObject* type = s == SV_ERROR_INVALID_ARGUMENT ? PyExc_ValueError : s == SV_ERROR_IO ? PyExc_OSError : PyExc_RuntimeError;
  PyErr_SetString(type, msg.c_str());
  throw nb::python_error();
}

using FloatArray = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;
using ImageArray = nb::ndarray<const uint8_t, nb::ndim<3>, nb::c_contig, nb::device::cpu>;

// A numpy array that owns a heap buffer (no copy when handed to Python).
nb::object numpy_owning(std::unique_ptr<float[]> data, const std::vector<size_t>& shape) {
  float* p = data.release();
  nb::capsule owner(p, [](void* q) noexcept { delete[] static_cast<float*>(q); });
  return nb::cast(nb::ndarray<nb::numpy, float>(p, shape.size(), shape.data(), owner));
}

// Everything one generate call shares with the engine's callbacks.
struct Call {
  nb::object on_frames, on_step, on_progress, cancel;
  bool collect = false, want_latents = false;
  // Collected frames [total, H, W, 3], filled without the GIL.
  std::unique_ptr<float[]> frames;
  int total = 0, height = 0, width = 0, received = 0;
  bool frames_mismatch = false;
  std::unique_ptr<float[]> latents;
  std::vector<size_t> latents_shape;
  std::unique_ptr<nb::python_error> error;  // the first Python exception, re-raised after the call
  bool stop = false;

  void record(nb::python_error& e) {
    if (!error) error = std::make_unique<nb::python_error>(std::move(e));
    stop = true;
  }
};

// Runs body with the GIL when callback f is set and nothing has stopped the call; a Python exception
// it raises is recorded (and stops the engine) instead of crossing the C API.
template <typename Body>
void with_python(Call& c, const nb::object& f, Body body) {
  if (!f.is_valid() || f.is_none()) return;
  nb::gil_scoped_acquire gil;
  if (c.stop) return;
  try {
    body();
  } catch (nb::python_error& e) {
    c.record(e);
  }
}

void frames_cb(const float* rgb, int first, int count, int total, int height, int width, void* ud) {
  Call& c = *static_cast<Call*>(ud);
  const size_t frame = size_t(height) * width * 3;
  if (c.collect) {
    if (!c.frames) {
      c.frames.reset(new float[size_t(total) * frame]);
      c.total = total, c.height = height, c.width = width;
    }
    if (height != c.height || width != c.width || first + count > c.total) {
      c.frames_mismatch = true;
    } else {
      std::memcpy(c.frames.get() + size_t(first) * frame, rgb, size_t(count) * frame * sizeof(float));
      c.received = first + count;
    }
  }
  with_python(c, c.on_frames, [&] {
    std::unique_ptr<float[]> copy(new float[size_t(count) * frame]);
    std::memcpy(copy.get(), rgb, size_t(count) * frame * sizeof(float));
    c.on_frames(numpy_owning(std::move(copy), {size_t(count), size_t(height), size_t(width), 3}), first, total);
  });
}

void latents_cb(const float* data, const int64_t* shape, int ndim, void* ud) {
  Call& c = *static_cast<Call*>(ud);
  if (!c.want_latents) return;
  size_t n = 1;
  c.latents_shape.clear();
  for (int i = 0; i < ndim; ++i) {
    c.latents_shape.push_back(static_cast<size_t>(shape[i]));
    n *= static_cast<size_t>(shape[i]);
  }
  c.latents.reset(new float[n]);
  std::memcpy(c.latents.get(), data, n * sizeof(float));
}

void step_cb(int step, int total, double timestep, void* ud) {
  Call& c = *static_cast<Call*>(ud);
  with_python(c, c.on_step, [&] { c.on_step(step, total, timestep); });
}

void progress_cb(const char* stage, int step, int total, double elapsed, double eta, void* ud) {
  Call& c = *static_cast<Call*>(ud);
  with_python(c, c.on_progress, [&] { c.on_progress(stage, step, total, elapsed, eta); });
}

int cancel_cb(void* ud) {
  Call& c = *static_cast<Call*>(ud);
  nb::gil_scoped_acquire gil;
  if (c.stop) return 1;
  try {
    if (PyErr_CheckSignals() != 0) throw nb::python_error();  // Ctrl-C: KeyboardInterrupt after the call
    if (c.cancel.is_valid() && !c.cancel.is_none()) {
      const int truth = PyObject_IsTrue(c.cancel().ptr());  // any truthy value, as Python's `if`
      if (truth < 0) throw nb::python_error();
      if (truth) c.stop = true;
    }
  } catch (nb::python_error& e) {
    c.record(e);
  }
  return c.stop ? 1 : 0;
}

// The generate parameters as owned values: the C struct borrows from here.
struct Params {
  std::deque<std::string> strings;  // stable addresses: the C struct points into them
  std::vector<sv_prompt_segment> schedule;
  std::vector<nb::object> keep;  // arrays the C struct points into
  sv_generate_params gp = sv_generate_default_params();

  const char* str(nb::handle v) {
    strings.push_back(nb::cast<std::string>(v));
    return strings.back().c_str();
  }
  static sv_tensor_f32 tensor(nb::handle v, const char* name) {
    FloatArray a;
    if (!nb::try_cast(v, a, false))
      throw nb::type_error((std::string(name) + ": expected a C-contiguous float32 array").c_str());
    if (a.ndim() < 1 || a.ndim() > 8) throw nb::value_error((std::string(name) + ": ndim must be in [1, 8]").c_str());
    sv_tensor_f32 t{};
    t.data = a.data();
    t.ndim = static_cast<int>(a.ndim());
    for (size_t i = 0; i < a.ndim(); ++i) t.shape[i] = static_cast<int64_t>(a.shape(i));
    return t;
  }

  explicit Params(const nb::dict& d) {
    for (auto [k, v] : d) {
      const std::string key = nb::cast<std::string>(k);
      if (v.is_none()) continue;
      if (key == "prompt") gp.prompt = str(v);
      else if (key == "negative_prompt") gp.negative_prompt = str(v);
      else if (key == "image_path") gp.image_path = str(v);
      else if (key == "output_path") gp.output_path = str(v);
      else if (key == "sampler") gp.sampler = str(v);
      else if (key == "chi") gp.chi = str(v);
      else if (key == "width") gp.width = nb::cast<int>(v);
      else if (key == "height") gp.height = nb::cast<int>(v);
      else if (key == "frames") gp.frames = nb::cast<int>(v);
      else if (key == "seconds") gp.seconds = nb::cast<double>(v);
      else if (key == "fps") gp.fps = nb::cast<int>(v);
      else if (key == "steps") gp.steps = nb::cast<int>(v);
      else if (key == "guidance_scale") gp.guidance_scale = nb::cast<float>(v);
      else if (key == "seed") gp.seed = nb::cast<uint64_t>(v);
      else if (key == "shift") gp.shift = nb::cast<float>(v);
      else if (key == "motion_score") gp.motion_score = nb::cast<int>(v);
      else if (key == "resolution_binning") gp.resolution_binning = nb::cast<int>(v);
      else if (key == "vae_tiling") gp.vae_tiling = nb::cast<bool>(v) ? 1 : 0;
      else if (key == "vae_tile") gp.vae_tile = nb::cast<int>(v);
      else if (key == "vae_tile_stride") gp.vae_tile_stride = nb::cast<int>(v);
      else if (key == "long_video") gp.long_video = nb::cast<bool>(v) ? 1 : 0;
      else if (key == "block_frames") gp.block_frames = nb::cast<int>(v);
      else if (key == "window_blocks") gp.window_blocks = nb::cast<int>(v);
      else if (key == "exact_timesteps") gp.exact_timesteps = nb::cast<bool>(v) ? 1 : 0;
      else if (key == "prompt_schedule") {
        for (nb::handle item : v) {
          const double t = nb::cast<double>(item[0]);
          schedule.push_back({t, str(item[1])});
        }
        gp.prompt_schedule = schedule.data();
        gp.prompt_schedule_count = static_cast<int>(schedule.size());
      } else if (key == "image") {
        ImageArray img;
        if (!nb::try_cast(v, img, false) || img.shape(2) != 3)
          throw nb::type_error("image: expected a C-contiguous uint8 array [H, W, 3]");
        gp.image_rgb = img.data();
        gp.image_height = static_cast<int>(img.shape(0));
        gp.image_width = static_cast<int>(img.shape(1));
      } else if (key == "latents") gp.initial_latents = tensor(v, "latents");
      else if (key == "prompt_embeds") gp.prompt_embeds = tensor(v, "prompt_embeds");
      else if (key == "prompt_attention_mask") gp.prompt_attention_mask = tensor(v, "prompt_attention_mask");
      else if (key == "negative_prompt_embeds") gp.negative_prompt_embeds = tensor(v, "negative_prompt_embeds");
      else if (key == "negative_prompt_attention_mask")
        gp.negative_prompt_attention_mask = tensor(v, "negative_prompt_attention_mask");
      else throw nb::type_error(("generate: unknown parameter '" + key + "'").c_str());
      keep.emplace_back(nb::borrow(v));
    }
  }
};

class Model {
 public:
  Model(const std::string& dir, const std::string& device, const std::string& dtype, int threads) {
    sv_model_params p = sv_model_default_params();
    p.threads = threads;
    p.device = device.c_str();
    p.dtype = dtype.c_str();
    char err[1024] = {0};
    sv_status s;
    {
      nb::gil_scoped_release nogil;
      s = sv_model_load(dir.c_str(), &p, &m_, err, sizeof err);
    }
    if (s != SV_OK) raise_status(s, err);
  }
  ~Model() { sv_model_free(m_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  std::string device() const { return sv_model_device(m_); }

  nb::dict generate(const nb::dict& params, bool collect_frames, bool want_latents, nb::object on_frames,
                    nb::object on_step, nb::object on_progress, nb::object cancel) {
    Params p(params);
    Call c;
    c.collect = collect_frames;
    c.want_latents = want_latents;
    c.on_frames = std::move(on_frames);
    c.on_step = std::move(on_step);
    c.on_progress = std::move(on_progress);
    c.cancel = std::move(cancel);
    sv_generate_params& gp = p.gp;
    gp.user_data = &c;
    gp.cancel = cancel_cb;
    gp.progress = progress_cb;
    gp.on_step = step_cb;
    if (collect_frames || (c.on_frames.is_valid() && !c.on_frames.is_none())) gp.on_frames = frames_cb;
    if (want_latents) gp.on_latents = latents_cb;
    sv_status s;
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);  // one generation per model at a time
      s = sv_generate(m_, &gp);
    }
    if (c.error) {
      nb::python_error e = std::move(*c.error);
      c.error.reset();
      throw e;
    }
    if (s != SV_OK) raise_status(s, sv_model_last_error(m_));
    nb::dict out;
    if (collect_frames) {
      if (c.frames_mismatch || !c.frames || c.received != c.total)
        throw std::runtime_error("the engine handed back frames out of order or of changing size");
      out["frames"] = numpy_owning(std::move(c.frames), {size_t(c.total), size_t(c.height), size_t(c.width), 3});
    }
    if (want_latents && c.latents) out["latents"] = numpy_owning(std::move(c.latents), c.latents_shape);
    out["seconds_encode"] = gp.seconds_encode;
    out["seconds_denoise"] = gp.seconds_denoise;
    out["seconds_decode"] = gp.seconds_decode;
    out["frames_written"] = gp.frames_written;
    out["width"] = gp.width_used;
    out["height"] = gp.height_used;
    return out;
  }

 private:
  sv_model* m_ = nullptr;
  std::mutex mu_;
};

class VideoWriter {
 public:
  VideoWriter(const std::string& path, int width, int height, int fps) : width_(width), height_(height) {
    char err[1024] = {0};
    const sv_status s = sv_video_writer_open(path.c_str(), width, height, fps, &w_, err, sizeof err);
    if (s != SV_OK) raise_status(s, err);
  }
  ~VideoWriter() { sv_video_writer_free(w_); }
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(nb::ndarray<const uint8_t, nb::ndim<4>, nb::c_contig, nb::device::cpu> rgb) {
    if (rgb.shape(1) != size_t(height_) || rgb.shape(2) != size_t(width_) || rgb.shape(3) != 3)
      throw nb::value_error(("frames must be [n, " + std::to_string(height_) + ", " + std::to_string(width_) +
                             ", 3] uint8, got [" + std::to_string(rgb.shape(0)) + ", " + std::to_string(rgb.shape(1)) +
                             ", " + std::to_string(rgb.shape(2)) + ", " + std::to_string(rgb.shape(3)) + "]")
                                .c_str());
    sv_status s;
    std::string err;
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);  // close() from another thread waits for the write
      if (!w_) throw std::runtime_error("the video writer is closed");
      s = sv_video_writer_write_rgb8(w_, rgb.data(), static_cast<int>(rgb.shape(0)));
      if (s != SV_OK) err = sv_video_writer_last_error(w_);
    }
    if (s != SV_OK) raise_status(s, err);
  }
  void finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!w_) throw std::runtime_error("the video writer is closed");
    const sv_status s = sv_video_writer_finish(w_);
    if (s != SV_OK) raise_status(s, sv_video_writer_last_error(w_));
  }
  // Without finish(): the partial file is removed.
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    sv_video_writer_free(w_);
    w_ = nullptr;
  }

 private:
  std::mutex mu_;
  sv_video_writer* w_ = nullptr;
  int width_, height_;
};

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "sana-video engine bindings over its C API (use the sana_video package, not this module)";
  nb::exception<CancelledError>(m, "CancelledError", PyExc_RuntimeError);

  nb::class_<Model>(m, "Model")
      .def(nb::init<const std::string&, const std::string&, const std::string&, int>(), "path"_a, "device"_a = "",
           "dtype"_a = "", "threads"_a = 0)
      .def_prop_ro("device", &Model::device)
      .def("generate", &Model::generate, "params"_a, "collect_frames"_a = false, "want_latents"_a = false,
           "on_frames"_a = nb::none(), "on_step"_a = nb::none(), "on_progress"_a = nb::none(), "cancel"_a = nb::none());

  nb::class_<VideoWriter>(m, "VideoWriter")
      .def(nb::init<const std::string&, int, int, int>(), "path"_a, "width"_a, "height"_a, "fps"_a)
      .def("write", &VideoWriter::write, "rgb"_a)
      .def("finish", &VideoWriter::finish)
      .def("close", &VideoWriter::close);

  m.def(
      "convert_checkpoint",
      [](const std::string& in, const std::optional<std::string>& config, const std::string& out,
         const std::optional<std::string>& key) {
        char err[1024] = {0};
        sv_status s;
        {
          nb::gil_scoped_release release;
          s = sv_convert_checkpoint(in.c_str(), config ? config->c_str() : nullptr, out.c_str(),
                                    key ? key->c_str() : nullptr, err, sizeof err);
        }
        if (s != SV_OK) raise_status(s, err);
      },
      "path"_a, "config"_a = nb::none(), "out"_a, "key"_a = nb::none());
  m.def("cuda_device_count", [] { return sv_cuda_device_count(); });
  m.def("default_model_dir", []() -> nb::object {
    const char* d = sv_default_model_dir();
    return d ? nb::cast(std::string(d)) : nb::none();
  });
}
