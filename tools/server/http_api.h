// The OpenAI-style videos API (POST/GET/DELETE /v1/videos, content download, GET /v1/models), our
// extensions (prompt changes for running long videos), /health and the web page, on cpp-httplib.
#pragma once
#include <cstdint>
#include <string>

#include "jobs.h"

namespace httplib {
class Server;
}

namespace sv::server {

struct ApiOptions {
  std::string model_id;         // what /v1/models lists and `model` may name
  std::string api_key;          // non-empty: /v1/* need "Authorization: Bearer <key>"
  int64_t max_pixels = 1280 * 1280;  // width x height per frame
  int max_frames = 257;         // frames of a (non-long) video
  int max_steps = 100;
  double max_seconds = 600;     // a long video's length
  bool long_mode = false;       // every job block-wise (LongSANA)
  int64_t started_at = 0;
};

void install_routes(httplib::Server& svr, JobManager& jobs, const sv_model* model, const ApiOptions& opt);

// The page served at / (tools/server/web/index.html, embedded at build time).
extern const char* const kIndexHtml;

}  // namespace sv::server
