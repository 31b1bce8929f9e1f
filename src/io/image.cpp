#include "io/image.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}
#include <jpeglib.h>

#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace sv::io {
namespace {

bool is_jpeg(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char m[3] = {0, 0, 0};
  f.read(reinterpret_cast<char*>(m), 3);
  return f.gcount() == 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF;
}

struct JpegErr {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
};

// Input images are resized to the video size, so 8192 x 8192 is plenty; a header may claim far more
// (a 700-byte JPEG asked for 2.4 GB), and the check comes before any pixel buffer exists.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

void check_image_size(const std::string& path, int64_t w, int64_t h) {
  SV_CHECK(w > 0 && h > 0 && w * h <= kMaxImagePixels, path, ": the image is ", w, "x", h, ", more than the ",
           kMaxImagePixels, " pixels an input image may have");
}

Image read_jpeg(const std::string& path) {
  FILE* fp = std::fopen(path.c_str(), "rb");
  SV_CHECK(fp, path, ": cannot open image");
  jpeg_decompress_struct cinfo;
  JpegErr err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr c) {
    JpegErr* e = reinterpret_cast<JpegErr*>(c->err);
    e->mgr.format_message(c, e->msg);
    std::longjmp(e->jump, 1);
  };
  err.mgr.output_message = [](j_common_ptr) {};
  Image img;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::fclose(fp);
    SV_THROW(path, ": corrupt JPEG (", err.msg, ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, fp);
  jpeg_read_header(&cinfo, TRUE);
  const int64_t claimed_w = cinfo.image_width, claimed_h = cinfo.image_height;
  if (claimed_w * claimed_h > kMaxImagePixels) {
    jpeg_destroy_decompress(&cinfo);
    std::fclose(fp);
    check_image_size(path, claimed_w, claimed_h);
  }
  cinfo.out_color_space = JCS_RGB;  // Pillow's defaults otherwise: ISLOW DCT, fancy upsampling
  jpeg_start_decompress(&cinfo);
  img.width = static_cast<int>(cinfo.output_width);
  img.height = static_cast<int>(cinfo.output_height);
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = img.rgb.data() + static_cast<size_t>(cinfo.output_scanline) * img.width * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  std::fclose(fp);
  return img;
}

Image read_ffmpeg(const std::string& path) {
  av_log_set_level(AV_LOG_QUIET);
  AVFormatContext* fc = nullptr;
  SV_CHECK(avformat_open_input(&fc, path.c_str(), nullptr, nullptr) >= 0, path, ": unreadable image");
  struct Cleanup {
    AVFormatContext*& fc;
    AVCodecContext* cc = nullptr;
    AVFrame* fr = nullptr;
    AVPacket* pk = nullptr;
    SwsContext* sws = nullptr;
    ~Cleanup() {
      if (sws) sws_freeContext(sws);
      av_packet_free(&pk);
      av_frame_free(&fr);
      avcodec_free_context(&cc);
      avformat_close_input(&fc);
    }
  } c{fc};
  SV_CHECK(avformat_find_stream_info(fc, nullptr) >= 0, path, ": unreadable image");
  const int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  SV_CHECK(si >= 0, path, ": no image in the file");
  const AVCodec* dec = avcodec_find_decoder(fc->streams[si]->codecpar->codec_id);
  SV_CHECK(dec, path, ": unsupported image format");
  c.cc = avcodec_alloc_context3(dec);
  avcodec_parameters_to_context(c.cc, fc->streams[si]->codecpar);
  if (c.cc->width > 0 && c.cc->height > 0) check_image_size(path, c.cc->width, c.cc->height);
  c.cc->max_pixels = kMaxImagePixels;  // the decoder refuses larger frames it finds in the data
  SV_CHECK(avcodec_open2(c.cc, dec, nullptr) >= 0, path, ": cannot open the image decoder");
  c.fr = av_frame_alloc();
  c.pk = av_packet_alloc();
  bool got = false;
  while (!got && av_read_frame(fc, c.pk) >= 0) {
    if (c.pk->stream_index == si && avcodec_send_packet(c.cc, c.pk) >= 0) got = avcodec_receive_frame(c.cc, c.fr) >= 0;
    av_packet_unref(c.pk);
  }
  if (!got && avcodec_send_packet(c.cc, nullptr) >= 0) got = avcodec_receive_frame(c.cc, c.fr) >= 0;
  SV_CHECK(got && c.fr->width > 0 && c.fr->height > 0, path, ": corrupt or empty image");
  check_image_size(path, c.fr->width, c.fr->height);
  Image img;
  img.width = c.fr->width;
  img.height = c.fr->height;
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  c.sws = sws_getContext(img.width, img.height, static_cast<AVPixelFormat>(c.fr->format), img.width, img.height,
                         AV_PIX_FMT_RGB24, SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
  SV_CHECK(c.sws, path, ": cannot convert the image to RGB");
  uint8_t* dst[1] = {img.rgb.data()};
  const int stride[1] = {img.width * 3};
  sws_scale(c.sws, c.fr->data, c.fr->linesize, 0, img.height, dst, stride);
  return img;
}

// Pillow Resample.c, 8 bits per channel.
constexpr int kPrecision = 32 - 8 - 2;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }
// Pillow's bicubic filter (a = -0.5).
double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct Filter {
  double (*fn)(double);
  double support;
};
constexpr Filter kLanczos{lanczos, 3.0}, kBicubic{bicubic, 2.0};

int precompute(int in_size, int out_size, std::vector<int>& bounds, std::vector<int32_t>& kk, const Filter& f) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = f.support * filterscale;
  const int ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  std::vector<double> k(static_cast<size_t>(out_size) * ksize, 0.0);
  bounds.assign(static_cast<size_t>(out_size) * 2, 0);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale, ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    double* kr = k.data() + static_cast<size_t>(xx) * ksize;
    for (int x = 0; x < xmax; ++x) {
      const double w = f.fn((x + xmin - center + 0.5) * ss);
      kr[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) kr[x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  kk.resize(k.size());
  for (size_t i = 0; i < k.size(); ++i)
    kk[i] = k[i] < 0 ? static_cast<int32_t>(-0.5 + k[i] * (1 << kPrecision)) : static_cast<int32_t>(0.5 + k[i] * (1 << kPrecision));
  return ksize;
}

inline uint8_t clip8(int64_t v) {
  v >>= kPrecision;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

Image read_image(const std::string& path) {
  SV_CHECK(std::filesystem::is_regular_file(path), path, ": image not found");
  return is_jpeg(path) ? read_jpeg(path) : read_ffmpeg(path);
}

namespace {
Image resize_with(const Image& in, int width, int height, const Filter& f) {
  SV_CHECK(width > 0 && height > 0 && in.width > 0 && in.height > 0, "resize: bad size ", width, "x", height);
  std::vector<int> bh, bv;
  std::vector<int32_t> kh, kv;
  const int ksh = precompute(in.width, width, bh, kh, f);
  const int ksv = precompute(in.height, height, bv, kv, f);
  const bool need_h = width != in.width, need_v = height != in.height;
  const int yfirst = bv[0], ylast = bv[(height - 1) * 2] + bv[(height - 1) * 2 + 1];
  Image cur = in;
  int row_offset = 0;
  if (need_h) {
    // Horizontal pass over the rows the vertical pass will read.
    Image tmp;
    tmp.width = width;
    tmp.height = ylast - yfirst;
    tmp.rgb.resize(static_cast<size_t>(tmp.width) * tmp.height * 3);
    for (int yy = 0; yy < tmp.height; ++yy) {
      const uint8_t* src = in.rgb.data() + static_cast<size_t>(yy + yfirst) * in.width * 3;
      for (int xx = 0; xx < width; ++xx) {
        const int xmin = bh[xx * 2], xmax = bh[xx * 2 + 1];
        const int32_t* k = kh.data() + static_cast<size_t>(xx) * ksh;
        for (int c = 0; c < 3; ++c) {
          int64_t ss = int64_t(1) << (kPrecision - 1);
          for (int x = 0; x < xmax; ++x) ss += static_cast<int64_t>(src[(x + xmin) * 3 + c]) * k[x];
          tmp.rgb[(static_cast<size_t>(yy) * width + xx) * 3 + c] = clip8(ss);
        }
      }
    }
    cur = std::move(tmp);
    row_offset = yfirst;
  }
  if (!need_v) return cur;
  Image out;
  out.width = cur.width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(out.width) * height * 3);
  for (int yy = 0; yy < height; ++yy) {
    const int ymin = bv[yy * 2] - row_offset, ymax = bv[yy * 2 + 1];
    const int32_t* k = kv.data() + static_cast<size_t>(yy) * ksv;
    for (int xx = 0; xx < out.width; ++xx)
      for (int c = 0; c < 3; ++c) {
        int64_t ss = int64_t(1) << (kPrecision - 1);
        for (int y = 0; y < ymax; ++y) ss += static_cast<int64_t>(cur.rgb[(static_cast<size_t>(y + ymin) * cur.width + xx) * 3 + c]) * k[y];
        out.rgb[(static_cast<size_t>(yy) * out.width + xx) * 3 + c] = clip8(ss);
      }
  }
  return out;
}

// The width x height window of `r` whose top-left pixel is (x0, y0); callers keep it inside.
Image crop(const Image& r, int x0, int y0, int width, int height) {
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    std::copy(r.rgb.begin() + (static_cast<size_t>(y + y0) * r.width + x0) * 3,
              r.rgb.begin() + (static_cast<size_t>(y + y0) * r.width + x0 + width) * 3,
              out.rgb.begin() + static_cast<size_t>(y) * width * 3);
  return out;
}

}  // namespace

Image resize_lanczos(const Image& in, int width, int height) { return resize_with(in, width, height, kLanczos); }
Image resize_bicubic(const Image& in, int width, int height) { return resize_with(in, width, height, kBicubic); }

Image resize_fill_crop_official(const Image& in, int width, int height) {
  SV_CHECK(width > 0 && height > 0 && in.width > 0 && in.height > 0, "resize: bad size ", width, "x", height);
  // Python's round(): half to even.
  auto pyround = [](double v) { return static_cast<int>(std::nearbyint(v)); };
  const double rh = static_cast<double>(height) / in.height, rw = static_cast<double>(width) / in.width;
  int sw, sh, i, j;
  if (rh > rw) {
    sh = height, sw = pyround(in.width * rh), i = 0, j = pyround((sw - width) / 2.0);
  } else {
    sh = pyround(in.height * rw), sw = width, i = pyround((sh - height) / 2.0), j = 0;
  }
  SV_CHECK(sw >= width && sh >= height && i + height <= sh && j + width <= sw, "resize: cannot fill ", width, "x",
           height, " from ", in.width, "x", in.height);
  return crop(resize_bicubic(in, sw, sh), j, i, width, height);
}

Image resize_cover_crop(const Image& in, int width, int height) {
  SV_CHECK(width > 0 && height > 0, "resize: bad size ", width, "x", height);
  const double s = std::max(static_cast<double>(width) / in.width, static_cast<double>(height) / in.height);
  const int rw = std::max(width, static_cast<int>(std::lround(in.width * s)));
  const int rh = std::max(height, static_cast<int>(std::lround(in.height * s)));
  return crop(resize_lanczos(in, rw, rh), (rw - width) / 2, (rh - height) / 2, width, height);
}

Tensor image_to_tensor(const Image& img) {
  Tensor t = Tensor::empty({1, 3, img.height, img.width});
  float* p = t.f32();
  const int64_t hw = static_cast<int64_t>(img.height) * img.width;
  for (int64_t i = 0; i < hw; ++i)
    for (int c = 0; c < 3; ++c) p[c * hw + i] = static_cast<float>(img.rgb[i * 3 + c]) / 255.0f * 2.0f - 1.0f;
  return t;
}

}  // namespace sv::io
