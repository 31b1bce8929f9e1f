// Image decoding and Pillow-exact Lanczos preprocessing against diffusers' VideoProcessor
// (tests/golden/images, written by tools/reference/make_image_goldens.py).
#include "io/image.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace sv {
namespace {

struct Case {
  const char* file;
  int h, w;
};

class ImageGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ImageGolden, DecodeAndPreprocessMatchPillow) {
  const Case c = GetParam();
  const io::TensorSource ref = io::TensorSource::open(test::golden("images/expected.safetensors"));
  const io::Image img = io::read_image(test::golden(std::string("images/") + c.file));
  const Tensor dec = ref.get(std::string(c.file) + ".decoded");  // [H, W, 3] uint8
  ASSERT_EQ(img.height, dec.size(0));
  ASSERT_EQ(img.width, dec.size(1));
  EXPECT_EQ(std::vector<uint8_t>(dec.data<uint8_t>(), dec.data<uint8_t>() + dec.numel()), img.rgb) << "decode";
  const Tensor t = io::image_to_tensor(io::resize_lanczos(img, c.w, c.h));
  const Tensor want = ref.get(std::string(c.file) + ".preprocessed");
  ASSERT_EQ(t.shape(), want.shape());
  EXPECT_EQ(t.to_vector(), want.to_vector()) << "Pillow LANCZOS resize must be bit-exact";
}

INSTANTIATE_TEST_SUITE_P(Files, ImageGolden,
                         ::testing::Values(Case{"up.png", 48, 64}, Case{"down.png", 40, 56}, Case{"photo.jpg", 32, 48}));

TEST(Image, CorruptAndMissingFiles) {
  EXPECT_THROW(io::read_image(test::golden("images/corrupt.png")), Error);
  EXPECT_THROW(io::read_image(test::golden("images/corrupt.jpg")), Error);
  EXPECT_THROW(io::read_image(test::golden("images/missing.png")), Error);
  EXPECT_THROW(io::read_image(test::golden("images")), Error);
}

// Found by fuzzing: a 700-byte JPEG whose header claims a 2.4 GB image. Refused before any pixel buffer.
TEST(Image, HeaderClaimingAHugeImageIsRefused) {
  try {
    io::read_image(std::string(SV_TEST_DATA) + "/../fuzz/regressions/image/jpeg_header_claims_2gb.jpg");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixels an input image may have"), std::string::npos) << e.what();
  }
}

TEST(Image, CoverCropKeepsAspect) {
  io::Image img = io::read_image(test::golden("images/down.png"));  // 100 x 80
  const io::Image out = io::resize_cover_crop(img, 40, 40);
  EXPECT_EQ(out.width, 40);
  EXPECT_EQ(out.height, 40);
  // The centre crop of a 50x40 resize equals columns 5..44 of that resize.
  const io::Image full = io::resize_lanczos(img, 50, 40);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(out.rgb[(y * 40 + x) * 3 + c], full.rgb[(y * 50 + x + 5) * 3 + c]);
}

}  // namespace
}  // namespace sv
