// Thin row-major SGEMM wrapper over CBLAS (OpenBLAS); BLAS sizes its own threads (see Context).
#pragma once
#include <cblas.h>

#include <cstdint>

namespace sv::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major with explicit leading dimensions.
inline void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

}  // namespace sv::cpu
