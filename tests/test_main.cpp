#include <gtest/gtest.h>

#include "core/blas_kernels.h"

int main(int argc, char** argv) {
  sv::reexec_for_blas_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
