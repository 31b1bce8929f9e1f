#include "ops/cpu/blas.h"

#include <cblas.h>

#include <algorithm>

namespace sv::cpu {

namespace {

void gemm1(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(M),
              static_cast<blasint>(N), static_cast<blasint>(K), alpha, A, static_cast<blasint>(lda), B,
              static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

// Below this many multiply-adds one thread finishes before another would have woken (OpenBLAS's own
// threshold for threading a GEMM).
constexpr int64_t kMinParallelMacs = int64_t(1) << 18;
// Each block packs the other operand again, so blocks stay this wide at least.
constexpr int64_t kMinBlock = 64;

}  // namespace

void sgemm(const Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  ThreadPool* pool = ctx.pool();
  const int64_t macs = M * N * std::max<int64_t>(K, 1);
  // Cut the longer side: a row block packs all of B again, a column block all of A.
  const bool by_rows = M >= N;
  const int64_t len = by_rows ? M : N;
  int64_t blocks = pool && macs >= 2 * kMinParallelMacs ? std::min<int64_t>(2 * pool->threads(), len / kMinBlock) : 1;
  blocks = std::min<int64_t>(blocks, macs / kMinParallelMacs);
  if (blocks <= 1) {
    gemm1(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Block edges on multiples of 16 rows/columns, the kernels' register tile.
  const int64_t step = (len + blocks - 1) / blocks;
  const int64_t unit = std::max<int64_t>(16, (step + 15) / 16 * 16);
  const int64_t nblocks = (len + unit - 1) / unit;
  pool->run(nblocks, [&](int64_t b) {
    const int64_t s = b * unit, e = std::min(len, s + unit);
    if (by_rows)
      gemm1(trans_a, trans_b, e - s, N, K, alpha, trans_a ? A + s : A + s * lda, lda, B, ldb, beta, C + s * ldc, ldc);
    else
      gemm1(trans_a, trans_b, M, e - s, K, alpha, A, lda, trans_b ? B + s * ldb : B + s, ldb, beta, C + s, ldc);
  });
}

}  // namespace sv::cpu
