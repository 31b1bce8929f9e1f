// Error handling: one exception type carrying a context message and source location.
// The library never aborts on bad input; the C API / CLI catch sv::Error at the boundary.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace sv {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Concatenate anything streamable into one string (g++ 12 has no std::format).
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace sv

#define SV_THROW(...) throw ::sv::Error(::sv::cat(__VA_ARGS__))
#define SV_CHECK(cond, ...)              \
  do {                                   \
    if (!(cond)) SV_THROW(__VA_ARGS__);  \
  } while (0)
