/*
 * Products: C_i = act(op(A_i)·op(B_i) + bias) through OpenBLAS' cblas_sgemm, in place on the heap.
 *
 *   gemm(heap, batch, m, n, k, transA, transB, aOff, bOff, cOff, strideA, strideB, biasOff, act)
 *     A_i at aOff + i·strideA floats, row-major [m,k] (or [k,m] when transA); likewise B_i [k,n]
 *     (or [n,k]); C_i at cOff + i·m·n floats, row-major [m,n]. strideA/strideB 0 = broadcast.
 *     biasOff < 0: no bias; else bias[n] at that byte offset. act: 0 linear, 1 relu.
 *   setThreads(n) / getThreads(): OpenBLAS' thread count for later calls.
 *   info(): { corename, config }.
 */
#include <cblas.h>
#include <string.h>

#include "common.h"

/* OpenBLAS extensions (declared here too: <cblas.h> may come from another BLAS's -dev package). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

napi_value Gemm(napi_env env, napi_callback_info info) {
  void *data = NULL;
  size_t len = 0;
  int64_t v[13];
  if (!heap_args(env, info, "gemm", 13, 0, &data, &len, v, NULL)) return NULL;
  const int64_t batch = v[0], m = v[1], n = v[2], k = v[3];
  const int transA = v[4] != 0, transB = v[5] != 0;
  const int64_t aOff = v[6], bOff = v[7], cOff = v[8], strideA = v[9], strideB = v[10], biasOff = v[11], act = v[12];
  if (batch < 0 || m < 0 || n < 0 || k < 0) return throw_range(env, "gemm", "negative dimension");
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return throw_range(env, "gemm", "dimension too large for BLAS");
  if (strideA < 0 || strideB < 0) return throw_range(env, "gemm", "negative batch stride");
  if (act != 0 && act != 1) return throw_range(env, "gemm", "activation must be 0 (linear) or 1 (relu)");
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (!in_bounds(cOff, batch * m * n, len)) return throw_range(env, "gemm", "output out of bounds");
  if (k > 0) {
    if (!in_bounds(aOff, (batch - 1) * strideA + m * k, len)) return throw_range(env, "gemm", "operand A out of bounds");
    if (!in_bounds(bOff, (batch - 1) * strideB + k * n, len)) return throw_range(env, "gemm", "operand B out of bounds");
  }
  if (biasOff >= 0 && !in_bounds(biasOff, n, len)) return throw_range(env, "gemm", "bias out of bounds");

  float *heap = (float *)data;
  const float *bias = biasOff >= 0 ? heap + biasOff / 4 : NULL;
  const int M = (int)m, N = (int)n, K = (int)k;
  const int lda = transA ? M : K, ldb = transB ? K : N;
  for (int64_t i = 0; i < batch; i++) {
    const float *a = heap + aOff / 4 + i * strideA;
    const float *b = heap + bOff / 4 + i * strideB;
    float *c = heap + cOff / 4 + i * m * n;
    /* The bias goes in first and BLAS accumulates onto it (beta = 1): one pass fewer than adding after. */
    if (bias) {
      for (int r = 0; r < M; r++) memcpy(c + (int64_t)r * N, bias, (size_t)N * sizeof(float));
    }
    if (K == 0) {
      if (!bias) memset(c, 0, (size_t)(m * n) * sizeof(float));
    } else {
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a, lda > 0 ? lda : 1, b,
                  ldb > 0 ? ldb : 1, bias ? 1.0f : 0.0f, c, N);
    }
    if (act == 1) {
      const int64_t size = m * n;
      for (int64_t j = 0; j < size; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
    }
  }
  return NULL;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t t = 0;
  if (argc != 1 || !get_i64(env, argv[0], &t) || t < 1 || t > 1024) return throw_range(env, "setThreads", "takes an integer in [1, 1024]");
  openblas_set_num_threads((int)t);
  return NULL;
}

napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  NAPI_CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, core, config;
  NAPI_CHECK(napi_create_object(env, &out));
  NAPI_CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  NAPI_CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  NAPI_CHECK(napi_set_named_property(env, out, "corename", core));
  NAPI_CHECK(napi_set_named_property(env, out, "config", config));
  return out;
}
