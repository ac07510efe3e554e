#ifndef VOLUMED_COPENBLAS_SHIM_H
#define VOLUMED_COPENBLAS_SHIM_H

#include <cblas.h>

// Debian's OpenBLAS ships no LAPACKE: declare the Fortran symbol ourselves.
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a,
             const int *lda, float *w, float *work, const int *lwork,
             int *iwork, const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
             const int *lda, double *w, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info);

#endif
