// OpenBLAS chooses its kernels from the CPU model when the library loads. A model newer than the
// library (Debian 12's OpenBLAS 0.3.21 on Emerald Rapids, family 6 model 207) falls back to its
// Prescott (SSE3) kernels, which run SGEMM 2-3x slower than the AVX-512 ones the CPU has. The only
// switch is OPENBLAS_CORETYPE, read once at load, so executables re-exec themselves with it set.
#pragma once

namespace sv {

// The kernel family OpenBLAS is using ("SkylakeX", "Haswell", "Prescott", ...).
const char* blas_core_name();
// The OPENBLAS_CORETYPE this CPU should run when OpenBLAS fell back to generic kernels (AVX-512:
// "SkylakeX", AVX2: "Haswell"); nullptr when the detection is fine or the user set OPENBLAS_CORETYPE.
const char* blas_core_fix();
// For an executable's main(): when blas_core_fix() names a core, sets OPENBLAS_CORETYPE and re-executes
// the program with the same arguments (SV_NO_BLAS_REEXEC=1 disables this). Returns when nothing was done.
void reexec_for_blas_kernels(char** argv);

}  // namespace sv
