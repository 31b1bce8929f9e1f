// Shared by the libFuzzer targets: the parsers read files, so each input is written to a file in a
// per-process temporary folder first. Every target must end in a value or an sv::Error (std::exception),
// never a crash, a sanitizer report, a hang or a huge allocation (libFuzzer's -rss_limit_mb).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sv::fuzz {

inline const std::string& temp_dir() {
  static const std::string dir = [] {
    std::string t = (std::filesystem::temp_directory_path() / ("sv_fuzz_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(t);
    return t;
  }();
  return dir;
}

// Writes the bytes to temp_dir()/name and returns the path.
inline std::string write_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = temp_dir() + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace sv::fuzz
