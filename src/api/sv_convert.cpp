// sv_convert_checkpoint: PyTorch checkpoints into what the engine memory-maps.
#include <filesystem>
#include <new>
#include <string>

#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "models/sana_video2/release.h"
#include "sv/sv.h"

namespace {

void put_error(std::string msg, char* buf, size_t n) {
  for (char& c : msg)
    if (c == '\n') c = ' ';
  if (!buf || n == 0) return;
  const size_t k = std::min(msg.size(), n - 1);
  msg.copy(buf, k);
  buf[k] = '\0';
}

}  // namespace

sv_status sv_convert_checkpoint(const char* in, const char* config_yaml, const char* out, const char* key, char* error,
                                size_t error_size) {
  if (!in || !out || !*in || !*out) {
    put_error("sv_convert_checkpoint: in and out are required", error, error_size);
    return SV_ERROR_INVALID_ARGUMENT;
  }
  const std::string k = key ? key : "";
  try {
    if (config_yaml) {
      sv::sana_video2::convert_release(in, config_yaml, out, k);
      return SV_OK;
    }
    const auto ck = sv::io::TorchCheckpoint::open(in);
    const auto sd = ck.state_dict(k);
    SV_CHECK(!sd.empty(), in, ": the state dict holds no tensors");
    sv::io::write_safetensors(out, sd, {{"source", std::filesystem::path(in).filename().string()}});
    return SV_OK;
  } catch (const std::bad_alloc&) {
    put_error("out of memory converting the checkpoint", error, error_size);
    return SV_ERROR_IO;
  } catch (const std::exception& e) {
    put_error(e.what(), error, error_size);
    return SV_ERROR_MODEL;
  }
}
