#include "http_api.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

namespace sv::server {
using nlohmann::json;

namespace {

// An OpenAI-shaped error: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status;
  std::string message, param, code;
};

void send_error(httplib::Response& res, const ApiError& e) {
  const char* type = e.status == 401 ? "authentication_error"
                     : e.status == 429 ? "rate_limit_error"
                     : e.status >= 500 ? "server_error"
                                       : "invalid_request_error";
  json err = {{"message", e.message}, {"type", type}, {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  res.status = e.status;
  res.set_content(json{{"error", err}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Request bytes echoed in messages need not be UTF-8: replaced, never thrown on.
void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0) return false;
    for (int k = 1; k <= n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

std::string format_seconds(double s) {
  std::ostringstream os;
  os << std::round(s * 1000.0) / 1000.0;
  return os.str();
}

json video_json(const Job& j) {
  const JobSpec& s = j.spec;
  json ext = {{"seed", s.seed}, {"num_frames", s.frames}, {"fps", s.fps}, {"num_inference_steps", s.steps},
              {"negative_prompt", s.has_negative ? json(s.negative_prompt) : json(nullptr)}, {"long_video", s.long_video},
              {"prompt_changes", to_json(j.prompt_changes)}};
  if (s.guidance_scale >= 0) ext["guidance_scale"] = s.guidance_scale;
  if (j.status == "completed")
    ext["timings"] = {{"encode", j.seconds_encode}, {"denoise", j.seconds_denoise}, {"decode", j.seconds_decode}};
  if (s.long_video) {
    ext["blocks_done"] = j.blocks_done;
    ext["blocks_total"] = j.blocks_total;
    if (!j.pending_prompt.empty()) ext["pending_prompt"] = j.pending_prompt;
  }
  json v = {{"id", j.id},
            {"object", "video"},
            {"model", s.model},
            {"status", j.status},
            {"progress", j.progress},
            {"created_at", j.created_at},
            {"completed_at", j.completed_at ? json(j.completed_at) : json(nullptr)},
            {"expires_at", nullptr},
            {"size", std::to_string(s.width) + "x" + std::to_string(s.height)},
            {"seconds", s.seconds},
            {"prompt", s.prompt},
            {"remixed_from_video_id", nullptr},
            {"error", nullptr},
            {"sana_video", ext}};
  if (j.status == "failed") v["error"] = {{"code", j.error_code}, {"message", j.error_message}};
  return v;
}

// Request fields from a JSON body or a multipart form, as strings or JSON values.
class Fields {
 public:
  static Fields from(const httplib::Request& req) {
    Fields f;
    if (req.is_multipart_form_data()) {
      for (const auto& [name, part] : req.files) {
        if (name == "input_reference" && !part.filename.empty()) {
          f.image_ = part.content;
        } else {
          if (!valid_utf8(name) || !valid_utf8(part.content))
            throw ApiError{400, "form fields must be UTF-8 text", valid_utf8(name) ? name : "", "invalid_value"};
          f.j_[name] = part.content;
        }
      }
      return f;
    }
    if (req.body.empty()) throw ApiError{400, "the request has no body: send JSON or a multipart form", "", "invalid_body"};
    try {
      f.j_ = json::parse(req.body);
    } catch (const std::exception&) {
      throw ApiError{400, "the body is not valid JSON", "", "invalid_json"};
    }
    if (!f.j_.is_object()) throw ApiError{400, "the JSON body must be an object", "", "invalid_json"};
    return f;
  }
  bool has(const char* k) const { return j_.contains(k) && !j_[k].is_null(); }
  std::string str(const char* k, size_t max_len = 10000) const {
    const json& v = j_.at(k);
    if (!v.is_string()) throw ApiError{400, std::string(k) + " must be a string", k, "invalid_type"};
    const std::string s = v.get<std::string>();
    if (s.size() > max_len) throw ApiError{400, std::string(k) + " is longer than " + std::to_string(max_len) + " characters", k, "invalid_value"};
    return s;
  }
  double num(const char* k, double lo, double hi) const {
    const json& v = j_.at(k);
    double d;
    if (v.is_number()) {
      d = v.get<double>();
    } else if (v.is_string()) {
      const std::string s = v.get<std::string>();
      char* end = nullptr;
      d = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') throw ApiError{400, std::string(k) + " must be a number, got '" + s + "'", k, "invalid_type"};
    } else {
      throw ApiError{400, std::string(k) + " must be a number", k, "invalid_type"};
    }
    if (!(d >= lo && d <= hi)) {
      std::ostringstream os;
      os << k << " must be in [" << lo << ", " << hi << "], got " << d;
      throw ApiError{400, os.str(), k, "invalid_value"};
    }
    return d;
  }
  int64_t integer(const char* k, double lo, double hi) const {
    const double d = num(k, lo, hi);
    if (d != std::floor(d)) throw ApiError{400, std::string(k) + " must be an integer", k, "invalid_type"};
    return static_cast<int64_t>(d);
  }
  uint64_t seed(const char* k) const {
    const json& v = j_.at(k);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
      throw ApiError{400, std::string(k) + " must be a non-negative integer", k, "invalid_type"};
    try {
      return std::stoull(s);
    } catch (const std::exception&) {
      throw ApiError{400, std::string(k) + " must be below 2^64", k, "invalid_value"};
    }
  }
  std::string text(const char* k) const {  // the value as the client wrote it
    const json& v = j_.at(k);
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  bool boolean(const char* k) const {
    const json& v = j_.at(k);
    if (v.is_boolean()) return v.get<bool>();
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    throw ApiError{400, std::string(k) + " must be true or false", k, "invalid_type"};
  }
  // A first frame: a multipart file, or {"image_url": "data:image/...;base64,..."} in JSON.
  std::string image() const {
    if (!image_.empty() || !has("input_reference")) return image_;
    const json& v = j_.at("input_reference");
    const std::string url = v.is_object() && v.contains("image_url") && v["image_url"].is_string() ? v["image_url"].get<std::string>() : "";
    const size_t comma = url.find(',');
    if (url.rfind("data:", 0) != 0 || comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos)
      throw ApiError{400, "input_reference must be an uploaded file or {\"image_url\": \"data:image/...;base64,...\"}; the server fetches no URLs",
                     "input_reference", "invalid_value"};
    return base64_decode(url.substr(comma + 1));
  }

 private:
  static std::string base64_decode(const std::string& in) {
    std::string out;
    int val = 0, bits = -8;
    for (unsigned char c : in) {
      int d;
      if (c >= 'A' && c <= 'Z') d = c - 'A';
      else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
      else if (c >= '0' && c <= '9') d = c - '0' + 52;
      else if (c == '+' || c == '-') d = 62;
      else if (c == '/' || c == '_') d = 63;
      else if (c == '=' || c == '\n' || c == '\r') continue;
      else throw ApiError{400, "input_reference: invalid base64", "input_reference", "invalid_value"};
      val = (val << 6) | d;
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((val >> bits) & 0xff));
        bits -= 8;
      }
    }
    return out;
  }
  json j_ = json::object();
  std::string image_;
};

std::pair<int, int> parse_size(const std::string& s) {
  static const std::regex re("^([0-9]{1,5})x([0-9]{1,5})$");
  std::smatch m;
  if (!std::regex_match(s, m, re)) throw ApiError{400, "size must be WIDTHxHEIGHT, e.g. 832x480, got '" + s + "'", "size", "invalid_value"};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

// The job a create request describes, checked by the server's limits and then by the engine itself.
JobSpec parse_create(const Fields& f, const sv_model* model, const ApiOptions& o, std::string* image) {
  const sv_model_info info = sv_model_get_info(model);
  JobSpec s;
  if (!f.has("prompt")) throw ApiError{400, "prompt is required", "prompt", "missing_required_parameter"};
  s.prompt = f.str("prompt");
  if (s.prompt.empty()) throw ApiError{400, "prompt must not be empty", "prompt", "invalid_value"};
  s.model = o.model_id;
  if (f.has("model") && f.str("model", 256) != o.model_id)
    throw ApiError{400, "model '" + f.str("model", 256) + "' is not served here; this server runs '" + o.model_id + "'", "model", "model_not_found"};
  if (f.has("negative_prompt")) s.negative_prompt = f.str("negative_prompt"), s.has_negative = true;
  s.width = info.default_width, s.height = info.default_height;
  if (f.has("size")) std::tie(s.width, s.height) = parse_size(f.str("size", 32));
  if (s.width < 1 || s.height < 1 || int64_t(s.width) * s.height > o.max_pixels)
    throw ApiError{400, "size " + std::to_string(s.width) + "x" + std::to_string(s.height) + " is over this server's limit of " +
                            std::to_string(o.max_pixels) + " pixels per frame", "size", "invalid_value"};
  s.fps = info.default_fps;
  s.long_video = o.long_mode || info.long_video;
  if (f.has("long_video")) s.long_video = f.boolean("long_video");
  if (f.has("block_frames")) s.block_frames = static_cast<int>(f.integer("block_frames", 1, 1000));
  const int step = std::max(1, info.frame_step);
  if (f.has("num_frames")) {
    s.frames = static_cast<int>(f.integer("num_frames", 1, s.long_video ? o.max_seconds * s.fps + 1 : o.max_frames));
    s.seconds = format_seconds(static_cast<double>(s.frames) / s.fps);
  } else if (f.has("seconds")) {
    const double sec = f.num("seconds", 1e-3, s.long_video ? o.max_seconds : o.max_frames / static_cast<double>(s.fps));
    // The nearest frame count the VAE accepts (step * k + 1).
    const int64_t n = std::llround(sec * s.fps);
    s.frames = static_cast<int>(std::max<int64_t>(0, (n - 1 + step / 2) / step) * step + 1);
    s.seconds = f.text("seconds");
  } else {
    s.frames = info.default_frames;
    s.seconds = format_seconds(static_cast<double>(s.frames) / s.fps);
  }
  if (!s.long_video && s.frames > o.max_frames)
    throw ApiError{400, std::to_string(s.frames) + " frames is over this server's limit of " + std::to_string(o.max_frames), "seconds", "invalid_value"};
  s.steps = f.has("num_inference_steps") ? static_cast<int>(f.integer("num_inference_steps", 1, o.max_steps)) : info.default_steps;
  s.guidance_scale = f.has("guidance_scale") ? f.num("guidance_scale", 0, 100) : info.default_guidance_scale;
  s.seed = f.has("seed") ? f.seed("seed") : std::random_device{}() * 4294967296ULL + std::random_device{}();
  *image = f.image();
  s.has_image = !image->empty();
  if (s.has_image && image->size() > (size_t(32) << 20)) throw ApiError{400, "input_reference is over 32 MiB", "input_reference", "invalid_value"};
  if (s.has_image && s.long_video) throw ApiError{400, "long (block-wise) videos take no input_reference", "input_reference", "invalid_value"};

  // The engine's own checks (the CLI's): multiples, frame rule, schedule, with the nearest valid values.
  sv_generate_params gp = sv_generate_default_params();
  gp.prompt = s.prompt.c_str();
  gp.width = s.width, gp.height = s.height, gp.frames = s.frames, gp.fps = s.fps, gp.steps = s.steps;
  gp.guidance_scale = static_cast<float>(s.guidance_scale);
  gp.long_video = s.long_video;
  gp.block_frames = s.block_frames;
  gp.image_path = s.has_image ? "input_reference" : nullptr;  // not read by the check
  char err[512] = {0};
  if (sv_generate_check(model, &gp, err, sizeof err) != SV_OK) throw ApiError{400, err, "", "invalid_request"};
  return s;
}

const std::regex kIdRe("^video_[0-9a-f]{24}$");

Job find_job(const JobManager& jobs, const std::string& id) {
  if (!std::regex_match(id, kIdRe)) throw ApiError{404, "no video with id '" + id + "'", "video_id", "video_not_found"};
  auto j = jobs.get(id);
  if (!j) throw ApiError{404, "no video with id '" + id + "'", "video_id", "video_not_found"};
  return *j;
}

template <typename F>
auto guarded(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const std::exception& e) {
      send_error(res, {500, std::string("internal error: ") + e.what(), "", "server_error"});
    }
  };
}

}  // namespace

void install_routes(httplib::Server& svr, JobManager& jobs, const sv_model* model, const ApiOptions& o) {
  if (!o.api_key.empty()) {
    const std::string expected = "Bearer " + o.api_key;
    svr.set_pre_routing_handler([expected](const httplib::Request& req, httplib::Response& res) {
      if (req.path.rfind("/v1/", 0) != 0 || req.get_header_value("Authorization") == expected)
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, {401, "missing or incorrect API key (send Authorization: Bearer <key>)", "", "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  // Errors httplib answers itself (404 for unknown routes, 413 for oversized bodies, 400 for bad
  // requests) get the API's error body too.
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    try {  // httplib calls this outside its own try: nothing may escape
      const std::string msg = res.status == 404   ? "no route for " + req.method + " " + req.path
                              : res.status == 413 ? "the request body is over this server's limit"
                                                  : "bad request";
      send_error(res, {res.status, msg, "", res.status == 413 ? "payload_too_large" : res.status == 404 ? "not_found" : "bad_request"});
    } catch (...) {
      res.set_content("{\"error\":{\"message\":\"bad request\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}",
                      "application/json");
    }
  });

  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kIndexHtml, "text/html; charset=utf-8"); });
  svr.Get("/health", guarded([&jobs, model](const httplib::Request&, httplib::Response& res) {
    const std::string run = jobs.running();
    send_json(res, {{"status", "ok"}, {"device", sv_model_device(model)}, {"queued", jobs.queued()},
                    {"running", run.empty() ? json(nullptr) : json(run)}});
  }));
  svr.Get("/v1/models", guarded([o](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"object", "list"},
                    {"data", json::array({{{"id", o.model_id}, {"object", "model"}, {"created", o.started_at}, {"owned_by", "sana-video"}}})}});
  }));
  svr.Get(R"(/v1/models/([^/]+))", guarded([o](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != o.model_id) throw ApiError{404, "no model '" + std::string(req.matches[1]) + "'", "model", "model_not_found"};
    send_json(res, {{"id", o.model_id}, {"object", "model"}, {"created", o.started_at}, {"owned_by", "sana-video"}});
  }));

  svr.Post("/v1/videos", guarded([&jobs, model, o](const httplib::Request& req, httplib::Response& res) {
    const Fields f = Fields::from(req);
    std::string image;
    const JobSpec spec = parse_create(f, model, o, &image);
    auto r = jobs.create(spec, image);
    if (auto* refusal = std::get_if<JobManager::Refusal>(&r)) {
      if (refusal->http_status == 429) res.set_header("Retry-After", "1");
      throw ApiError{refusal->http_status, refusal->message, "", refusal->code};
    }
    send_json(res, video_json(std::get<Job>(r)));
  }));

  svr.Get("/v1/videos", guarded([&jobs](const httplib::Request& req, httplib::Response& res) {
    int limit = 20;
    if (req.has_param("limit")) {
      const std::string l = req.get_param_value("limit");
      if (l.empty() || l.size() > 4 || l.find_first_not_of("0123456789") != std::string::npos || std::stoi(l) < 1 || std::stoi(l) > 100)
        throw ApiError{400, "limit must be an integer in [1, 100]", "limit", "invalid_value"};
      limit = std::stoi(l);
    }
    const std::string order = req.has_param("order") ? req.get_param_value("order") : "desc";
    if (order != "asc" && order != "desc") throw ApiError{400, "order must be asc or desc", "order", "invalid_value"};
    std::vector<Job> all = jobs.list();
    if (order == "desc") std::reverse(all.begin(), all.end());
    size_t start = 0;
    if (req.has_param("after")) {
      const std::string after = req.get_param_value("after");
      while (start < all.size() && all[start].id != after) ++start;
      if (start == all.size()) throw ApiError{400, "after: no video with id '" + after + "'", "after", "invalid_value"};
      ++start;
    }
    json data = json::array();
    for (size_t i = start; i < all.size() && data.size() < static_cast<size_t>(limit); ++i) data.push_back(video_json(all[i]));
    const bool more = start + data.size() < all.size();
    send_json(res, {{"object", "list"}, {"data", data}, {"first_id", data.empty() ? json(nullptr) : data.front()["id"]},
                    {"last_id", data.empty() ? json(nullptr) : data.back()["id"]}, {"has_more", more}});
  }));

  svr.Get(R"(/v1/videos/([^/]+))", guarded([&jobs](const httplib::Request& req, httplib::Response& res) {
    const Job j = find_job(jobs, req.matches[1]);
    if (j.status == "queued" || j.status == "in_progress") res.set_header("openai-poll-after-ms", "200");
    send_json(res, video_json(j));
  }));

  svr.Delete(R"(/v1/videos/([^/]+))", guarded([&jobs](const httplib::Request& req, httplib::Response& res) {
    const Job j = find_job(jobs, req.matches[1]);
    jobs.remove(j.id);
    send_json(res, {{"id", j.id}, {"object", "video.deleted"}, {"deleted", true}});
  }));

  svr.Get(R"(/v1/videos/([^/]+)/content)", guarded([&jobs](const httplib::Request& req, httplib::Response& res) {
    const Job j = find_job(jobs, req.matches[1]);
    const std::string variant = req.has_param("variant") ? req.get_param_value("variant") : "video";
    if (variant != "video" && variant != "thumbnail")
      throw ApiError{400, "variant '" + variant + "' is not available here (video, thumbnail)", "variant", "invalid_value"};
    bool partial = false;
    const std::string path = jobs.content_path(j.id, variant == "thumbnail", &partial);
    if (path.empty())
      throw ApiError{404, "video '" + j.id + "' has no " + variant + " yet (status " + j.status + ")", "video_id", "video_not_ready"};
    // Streamed from the file (a growing file: the bytes there now); range requests read only their range.
    auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!*file || ec) throw ApiError{404, "video '" + j.id + "' content is gone", "video_id", "video_not_ready"};
    if (partial) res.set_header("X-Sana-Video-Partial", "true");
    res.set_content_provider(static_cast<size_t>(size), variant == "thumbnail" ? "image/png" : "video/mp4",
                             [file](size_t offset, size_t length, httplib::DataSink& sink) {
                               std::vector<char> buf(std::min<size_t>(length, size_t(1) << 20));
                               file->clear();
                               file->seekg(static_cast<std::streamoff>(offset));
                               file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
                               const std::streamsize got = file->gcount();
                               if (got <= 0) return false;
                               return sink.write(buf.data(), static_cast<size_t>(got));
                             });
  }));

  svr.Post(R"(/v1/videos/([^/]+)/prompt)", guarded([&jobs](const httplib::Request& req, httplib::Response& res) {
    const Job j = find_job(jobs, req.matches[1]);
    const Fields f = Fields::from(req);
    if (!f.has("prompt")) throw ApiError{400, "prompt is required", "prompt", "missing_required_parameter"};
    const std::string prompt = f.str("prompt");
    if (prompt.empty()) throw ApiError{400, "prompt must not be empty", "prompt", "invalid_value"};
    auto r = jobs.change_prompt(j.id, prompt);
    if (auto* refusal = std::get_if<JobManager::Refusal>(&r)) throw ApiError{refusal->http_status, refusal->message, "prompt", refusal->code};
    send_json(res, video_json(std::get<Job>(r)));
  }));
}

}  // namespace sv::server
