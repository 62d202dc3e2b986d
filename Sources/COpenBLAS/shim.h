// OpenBLAS's CBLAS interface plus the LAPACK routines Quanta calls (exported by libopenblas itself).
#include <cblas.h>
#include <stddef.h>
// Fortran LAPACK Cholesky; the trailing size_t is the hidden length of the `uplo` string argument.
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info, size_t uplo_len);
