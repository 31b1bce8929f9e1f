#include "io/video_writer.h"

#include <atomic>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace sv::io {
namespace fs = std::filesystem;

namespace {

// A temporary name no other writer of this process uses: two writers of one path (one finishing while
// the next starts) must not remove each other's file.
std::string temp_suffix() {
  static std::atomic<uint64_t> counter{0};
  return ".part" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}
// The decoder's [-1, 1] as diffusers' [0, 1]: clamp(x * 0.5 + 0.5, 0, 1).
inline float unit(float x) { return std::min(1.0f, std::max(0.0f, x * 0.5f + 0.5f)); }
}  // namespace

std::vector<uint8_t> frame_to_rgb24(const Tensor& frames, int64_t index) {
  SV_CHECK(frames.dim() == 4 && frames.size(0) == 3, "video frames must be [3, n, H, W], got ", shape_str(frames.shape()));
  const Tensor f = frames.select(1, index).to_f32();  // [3, H, W]
  const int64_t H = f.size(1), W = f.size(2);
  std::vector<uint8_t> rgb(static_cast<size_t>(H * W * 3));
  const float* p = f.f32();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < H * W; ++i) {
      rgb[i * 3 + c] = static_cast<uint8_t>(std::nearbyint(unit(p[c * H * W + i]) * 255.0f));
    }
  return rgb;
}

void frames_to_rgb_f32(const Tensor& frames_in, float* out) {
  SV_CHECK(frames_in.dim() == 4 && frames_in.size(0) == 3, "video frames must be [3, n, H, W], got ",
           shape_str(frames_in.shape()));
  const Tensor f = frames_in.to_f32().contiguous();
  const int64_t n = f.size(1), hw = f.size(2) * f.size(3);
  const float* p = f.f32();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < 3; ++c) {
      const float* src = p + (c * n + t) * hw;
      float* dst = out + t * hw * 3 + c;
      for (int64_t i = 0; i < hw; ++i) dst[i * 3] = unit(src[i]);
    }
}

namespace {

std::string av_err(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(e, buf, sizeof buf);
  return buf;
}

std::string lower_ext(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

// Encodes frames with one libavcodec encoder. Container files go through libavformat; PNG folders
// write each packet to its own file.
class FfmpegWriter : public VideoWriter {
 public:
  FfmpegWriter(const std::string& path, const Options& o) : path_(path), opt_(o) {
    // A throwing constructor runs no destructor: free what was opened before rethrowing.
    try {
      init(path, o);
    } catch (...) {
      release();
      throw;
    }
  }

  ~FfmpegWriter() override { release(); }

 private:
  void init(const std::string& path, const Options& o) {
    av_log_set_level(AV_LOG_ERROR);
    SV_CHECK(o.width > 0 && o.height > 0, path, ": bad video size ", o.width, "x", o.height);
    SV_CHECK(o.fps > 0 && o.fps <= 240, path, ": fps must be in [1, 240], got ", o.fps);
    const bool dir = (!path.empty() && path.back() == '/') || fs::is_directory(path);
    const std::string ext = lower_ext(path);
    const char* enc_name = nullptr;
    const char* mux = nullptr;
    if (dir) {
      png_dir_ = true;
      enc_name = "png";
      pix_ = AV_PIX_FMT_RGB24;
    } else if (ext == ".mp4" || ext == ".mkv" || ext == ".mov") {
      enc_name = "libx264";
      mux = ext == ".mp4" ? "mp4" : ext == ".mkv" ? "matroska" : "mov";
      pix_ = AV_PIX_FMT_YUV420P;
      SV_CHECK(o.width % 2 == 0 && o.height % 2 == 0, path, ": H.264 yuv420p needs even width and height, got ", o.width,
               "x", o.height);
    } else if (ext == ".webp") {
      // libwebp's limit (WEBP_MAX_DIMENSION): larger frames fail only when the first one is encoded.
      SV_CHECK(o.width <= 16383 && o.height <= 16383, path, ": WebP frames are at most 16383 x 16383, got ", o.width,
               "x", o.height);
      enc_name = "libwebp_anim";
      mux = "webp";
      pix_ = AV_PIX_FMT_YUV420P;
    } else if (ext == ".gif") {
      enc_name = "gif";
      mux = "gif";
      pix_ = AV_PIX_FMT_RGB8;
    } else {
      SV_THROW(path, ": unknown output format '", ext, "' (use .mp4, .mkv, .mov, .webp, .gif or a folder/ for PNG frames)");
    }
    const AVCodec* codec = avcodec_find_encoder_by_name(enc_name);
    SV_CHECK(codec, path, ": this FFmpeg build has no '", enc_name, "' encoder");
    tmp_ = path + temp_suffix();
    if (dir) {
      const std::string clean = path.back() == '/' ? path.substr(0, path.size() - 1) : path;
      path_ = clean;
      tmp_ = clean + temp_suffix();
      SV_CHECK(!fs::exists(clean) || fs::is_empty(clean), path, ": output folder exists and is not empty");
      std::error_code ec;
      fs::create_directories(tmp_, ec);
      SV_CHECK(!ec, path, ": cannot write: ", ec.message());
    }
    c_ = avcodec_alloc_context3(codec);
    c_->width = o.width;
    c_->height = o.height;
    c_->time_base = AVRational{1, o.fps};
    c_->framerate = AVRational{o.fps, 1};
    c_->pix_fmt = pix_;
    c_->gop_size = 2 * o.fps;
    if (std::string(enc_name) == "libx264") {
      av_opt_set(c_->priv_data, "preset", "medium", 0);
      av_opt_set(c_->priv_data, "crf", std::to_string(o.crf).c_str(), 0);
      // A streamed file must hold every frame written so far: no lookahead or B-frame delay.
      if (o.fragmented) av_opt_set(c_->priv_data, "tune", "zerolatency", 0);
    }
    if (mux) {
      const int r = avformat_alloc_output_context2(&oc_, nullptr, mux, tmp_.c_str());
      SV_CHECK(r >= 0 && oc_, path, ": cannot create the ", mux, " container: ", av_err(r));
      if (oc_->oformat->flags & AVFMT_GLOBALHEADER) c_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    int r = avcodec_open2(c_, codec, nullptr);
    SV_CHECK(r >= 0, path, ": cannot open the ", enc_name, " encoder: ", av_err(r));
    if (mux) {
      st_ = avformat_new_stream(oc_, nullptr);
      SV_CHECK(st_, path, ": cannot add a stream");
      avcodec_parameters_from_context(st_->codecpar, c_);
      st_->time_base = c_->time_base;
      st_->avg_frame_rate = c_->framerate;
      r = avio_open(&oc_->pb, tmp_.c_str(), AVIO_FLAG_WRITE);
      SV_CHECK(r >= 0, path, ": cannot write: ", av_err(r));
      AVDictionary* mux_opts = nullptr;
      const std::string mname = oc_->oformat->name;
      frag_flush_ = o.fragmented && (mname == "mp4" || mname == "mov");
      if (frag_flush_) av_dict_set(&mux_opts, "movflags", "frag_custom+frag_keyframe+empty_moov+default_base_moof", 0);
      r = avformat_write_header(oc_, &mux_opts);
      av_dict_free(&mux_opts);
      SV_CHECK(r >= 0, path, ": cannot write the header: ", av_err(r));
    }
    frame_ = av_frame_alloc();
    frame_->format = pix_;
    frame_->width = o.width;
    frame_->height = o.height;
    SV_CHECK(av_frame_get_buffer(frame_, 0) >= 0, path, ": out of memory for a frame");
    pkt_ = av_packet_alloc();
    sws_ = sws_getContext(o.width, o.height, AV_PIX_FMT_RGB24, o.width, o.height, pix_, SWS_BICUBIC | SWS_ACCURATE_RND,
                          nullptr, nullptr, nullptr);
    SV_CHECK(sws_, path, ": cannot convert RGB to the encoder's pixel format");
  }

  void release() {
    if (sws_) sws_freeContext(sws_);
    sws_ = nullptr;
    av_packet_free(&pkt_);
    av_frame_free(&frame_);
    avcodec_free_context(&c_);
    if (oc_) {
      if (oc_->pb) avio_closep(&oc_->pb);
      avformat_free_context(oc_);
      oc_ = nullptr;
    }
    std::error_code ec;
    if (!finished_ && !tmp_.empty()) fs::remove_all(tmp_, ec);
  }

 public:
  void write_frames(const Tensor& frames) override {
    SV_CHECK(!finished_, path_, ": writer already finished");
    SV_CHECK(frames.dim() == 4 && frames.size(0) == 3 && frames.size(2) == opt_.height && frames.size(3) == opt_.width,
             path_, ": frames must be [3, n, ", opt_.height, ", ", opt_.width, "], got ", shape_str(frames.shape()));
    for (int64_t i = 0; i < frames.size(1); ++i) encode_rgb(frame_to_rgb24(frames, i).data());
    flush_fragment();
  }

  void write_rgb24(const uint8_t* rgb, int64_t count) override {
    SV_CHECK(!finished_, path_, ": writer already finished");
    SV_CHECK(rgb || count == 0, path_, ": no frame data");
    const int64_t frame_bytes = static_cast<int64_t>(opt_.width) * opt_.height * 3;
    for (int64_t i = 0; i < count; ++i) encode_rgb(rgb + i * frame_bytes);
    flush_fragment();
  }

  void finish() override {
    SV_CHECK(!finished_, path_, ": writer already finished");
    send(nullptr);
    if (oc_) {
      const int r = av_write_trailer(oc_);
      SV_CHECK(r >= 0, path_, ": cannot finish the file: ", av_err(r));
      avio_closep(&oc_->pb);
    }
    std::error_code ec;
    if (png_dir_ && fs::exists(path_)) fs::remove(path_, ec);  // an empty folder given by the user
    fs::rename(tmp_, path_, ec);
    SV_CHECK(!ec, path_, ": cannot move the finished output into place: ", ec.message());
    finished_ = true;
  }

  int64_t frames_written() const override { return count_; }
  const std::string& temp_path() const override { return tmp_; }

 private:
  std::string path_, tmp_;
  Options opt_;
  bool png_dir_ = false, finished_ = false, frag_flush_ = false;
  AVPixelFormat pix_ = AV_PIX_FMT_NONE;
  AVCodecContext* c_ = nullptr;
  AVFormatContext* oc_ = nullptr;
  AVStream* st_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* pkt_ = nullptr;
  SwsContext* sws_ = nullptr;
  int64_t count_ = 0, png_index_ = 0;

  // Streaming MP4/MOV: what was written so far becomes a finished fragment on disk (playable).
  void flush_fragment() {
    if (!opt_.fragmented || !oc_ || !oc_->pb) return;
    if (frag_flush_) {
      const int r = av_write_frame(oc_, nullptr);
      SV_CHECK(r >= 0, path_, ": cannot write a fragment: ", av_err(r));
    }
    avio_flush(oc_->pb);
  }

  void encode_rgb(const uint8_t* rgb) {
    SV_CHECK(av_frame_make_writable(frame_) >= 0, path_, ": frame buffer busy");
    const uint8_t* src[1] = {rgb};
    const int stride[1] = {opt_.width * 3};
    sws_scale(sws_, src, stride, 0, opt_.height, frame_->data, frame_->linesize);
    frame_->pts = count_++;
    send(frame_);
  }

  void send(AVFrame* f) {
    int r = avcodec_send_frame(c_, f);
    SV_CHECK(r >= 0, path_, ": encoding failed: ", av_err(r));
    while ((r = avcodec_receive_packet(c_, pkt_)) >= 0) {
      if (png_dir_) {
        char name[32];
        std::snprintf(name, sizeof name, "/frame_%05lld.png", static_cast<long long>(png_index_++));
        FILE* fp = std::fopen((tmp_ + name).c_str(), "wb");
        SV_CHECK(fp, path_, ": cannot write ", tmp_ + name);
        const bool ok = std::fwrite(pkt_->data, 1, pkt_->size, fp) == static_cast<size_t>(pkt_->size);
        SV_CHECK(std::fclose(fp) == 0 && ok, path_, ": write failed");
      } else {
        av_packet_rescale_ts(pkt_, c_->time_base, st_->time_base);
        pkt_->stream_index = st_->index;
        const int w = av_interleaved_write_frame(oc_, pkt_);
        SV_CHECK(w >= 0, path_, ": write failed: ", av_err(w));
      }
      av_packet_unref(pkt_);
    }
    SV_CHECK(r == AVERROR(EAGAIN) || r == AVERROR_EOF, path_, ": encoding failed: ", av_err(r));
  }
};

}  // namespace

std::unique_ptr<VideoWriter> VideoWriter::open(const std::string& path, const Options& opt) {
  return std::make_unique<FfmpegWriter>(path, opt);
}

}  // namespace sv::io
