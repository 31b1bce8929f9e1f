// PyTorch checkpoints (.pth) as `sana-video convert` reads them: the zip or legacy container, the
// restricted pickle, every state dict's tensors (views and strided copies), widened to fp32.
#include "fuzz_util.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  try {
    auto buf = std::make_shared<std::string>(reinterpret_cast<const char*>(data), size);
    const auto ck =
        io::TorchCheckpoint::from_memory(reinterpret_cast<const uint8_t*>(buf->data()), buf->size(), buf, "fuzz.pth");
    for (const char* key : {"", "state_dict", "state_dict_ema"}) {
      try {
        for (const auto& [name, t] : ck.state_dict(key))
          if (t.numel() <= (int64_t(1) << 20)) (void)t.to_f32();
      } catch (const std::exception&) {
      }
    }
  } catch (const std::exception&) {
  }
  return 0;
}
