// Row-major SGEMM over oneDNN, one thread per call; large products are cut into row or column blocks
// on the context's threads (core/thread_pool.h says why not the library's own OpenMP team).
#pragma once
#include <cstdint>

#include "core/context.h"

namespace sv::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major with explicit leading dimensions.
void sgemm(const Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace sv::cpu
