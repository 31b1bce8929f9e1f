#include "core/blas_kernels.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern "C" char* openblas_get_corename(void);

namespace sv {

const char* blas_core_name() { return openblas_get_corename(); }

const char* blas_core_fix() {
  if (std::getenv("OPENBLAS_CORETYPE")) return nullptr;
  const char* core = blas_core_name();
  // The generic fallbacks of OpenBLAS's dynamic-arch dispatch.
  const bool generic = core && (!std::strcmp(core, "Prescott") || !std::strcmp(core, "Core2") ||
                                !std::strcmp(core, "Nehalem") || !std::strcmp(core, "Sandybridge"));
  if (!generic) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void reexec_for_blas_kernels(char** argv) {
  const char* no = std::getenv("SV_NO_BLAS_REEXEC");
  if (no && *no && std::strcmp(no, "0") != 0) return;
  const char* fix = blas_core_fix();
  if (!fix) return;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return;
  self[n] = '\0';  // the real path, so the process keeps its name (not "exe")
  // Only when /proc/self/exe is this program: under `ld.so ./prog` or valgrind it is the loader or the tool.
  const char* a = std::strrchr(argv[0], '/');
  const char* s = std::strrchr(self, '/');
  if (std::strcmp(a ? a + 1 : argv[0], s ? s + 1 : self) != 0) return;
  setenv("OPENBLAS_CORETYPE", fix, 1);
  execv(self, argv);  // returns only on failure: then carry on with the slow kernels
}

}  // namespace sv
