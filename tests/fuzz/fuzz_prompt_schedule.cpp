// Long-video prompt schedules: --prompt-schedule files and --prompt-at values.
#include "fuzz_util.h"
#include "pipeline/long_video.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sv;
  try {
    const std::string path = fuzz::write_file("schedule.txt", data, size);
    (void)pipeline::read_prompt_schedule(path);
  } catch (const std::exception&) {
  }
  try {
    (void)pipeline::parse_prompt_at(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception&) {
  }
  return 0;
}
