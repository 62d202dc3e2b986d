// OpenBLAS's CBLAS interface plus the LAPACK routines Quanta calls (exported by libopenblas itself).
#include <cblas.h>
#include <stddef.h>
// Fortran LAPACK Cholesky; the trailing size_t is the hidden length of the `uplo` string argument.
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info, size_t uplo_len);
// Inverse of a symmetric positive definite matrix from its Cholesky factor (potrf's output), same hidden length.
void spotri_(const char *uplo, const int *n, float *a, const int *lda, int *info, size_t uplo_len);
// Double precision Cholesky and inverse (GPTQ's H⁻¹: the Hessian can be ill-conditioned).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
// Inverse of a triangular matrix; two hidden lengths (`uplo`, `diag`).
void strtri_(const char *uplo, const char *diag, const int *n, float *a, const int *lda, int *info, size_t uplo_len, size_t diag_len);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info, size_t uplo_len, size_t diag_len);
