#include "ops/cpu/blas.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>

#include "core/signals.h"

extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int);
}

namespace sv::cpu {

namespace {

// oneDNN sizes its OpenMP team from the calling thread's OpenMP count; held at one for the call (and
// put back, so an application's own OpenMP on that thread is untouched).
class OneOmpThread {
 public:
  OneOmpThread() : prev_(omp_get_max_threads()) {
    if (prev_ != 1) omp_set_num_threads(1);
  }
  ~OneOmpThread() {
    if (prev_ != 1) omp_set_num_threads(prev_);
  }

 private:
  int prev_;
};

void gemm1(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  OneOmpThread one;
  const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  SV_CHECK(st == dnnl_success, "oneDNN sgemm failed (status ", static_cast<int>(st), ") for ", M, "x", N, "x", K);
}

// Below this many multiply-adds one thread finishes before another would have woken (OpenBLAS's own
// old threshold for threading a GEMM).
constexpr int64_t kMinParallelMacs = int64_t(1) << 18;
// Each block packs the other operand again, so blocks stay this wide at least.
constexpr int64_t kMinBlock = 64;

}  // namespace

void sgemm(const Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  // oneDNN's JIT kernels run with rsp in the heap: no signal handler may run on this thread meanwhile.
  const AsyncSignalBlock no_signals;
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
