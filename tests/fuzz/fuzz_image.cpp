// First-frame images (JPEG through libjpeg-turbo, PNG/WebP/BMP/... through FFmpeg) as image-to-video and
// the server's input_reference read them, then the pipeline's Lanczos resize.
#include "fuzz_util.h"
#include "io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  try {
    const std::string path = fuzz::write_file("image.bin", data, size);
    const io::Image img = io::read_image(path);
    if (img.width > 0 && img.height > 0 && int64_t(img.width) * img.height <= (int64_t(1) << 22))
      (void)io::resize_lanczos(img, 24, 16);
  } catch (const std::exception&) {
  }
  return 0;
}
