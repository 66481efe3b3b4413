/*
 * Memory-bound kernels of a Transformer step, in place on the wasm heap (the same maths as the JS
 * versions in src/tensor/wasmKernels.ts, which remain the fallback). All offsets are bytes.
 *
 *   transpose2d(heap, src, dst, batch, rows, cols)        dst[b,c,r] = src[b,r,c] (any 4-byte dtype)
 *   permuteRows(heap, src, dst, rank, s0..s5, p0..p5)     transpose keeping the last axis (rank <= 6)
 *   colSum(heap, src, dst, rows, cols)                    dst[c] = Σ_r src[r,c] (float64 accumulation)
 *   layerNorm(heap, x, gamma, beta, y, mean, rstd, rows, d, eps)
 *   layerNormGrad(heap, dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, d)
 *   qkvSplit(heap, x, q, kT, v, b, t, heads, dh, scale)   [B,T,3D] → q·scale, kᵀ, v per head
 *   qkvMerge(heap, dq, dkT, dv, out, b, t, heads, dh, scale)  its gradient
 *   maxPool2x2Grad(heap, x, dy, dx, n, h, w, c)           2x2 stride-2 'valid' max-pool backward, NHWC
 *   im2colT3x3(heap, x, out, n, h, w, c)                  [N,H,W,C] → colsᵀ [9C, N·H·W] ('same' padding)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BOUNDS(off, n, what) \
  if (!in_bounds((off), (n), len)) return throw_range(env, FN, what " out of bounds")

#undef FN
#define FN "transpose2d"
napi_value Transpose2d(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[5];
  if (!heap_args(env, info, FN, 5, 0, &data, &len, v, NULL)) return NULL;
  const int64_t src = v[0], dst = v[1], batch = v[2], rows = v[3], cols = v[4];
  if (batch < 0 || rows < 0 || cols < 0) return throw_range(env, FN, "negative size");
  const int64_t plane = rows * cols;
  BOUNDS(src, batch * plane, "source");
  BOUNDS(dst, batch * plane, "destination");
  const uint32_t *s = (const uint32_t *)data + src / 4;
  uint32_t *d = (uint32_t *)data + dst / 4;
  /* 64x64 blocks of 8x8 register tiles (read 8 rows, write 8 rows): measured 2.7 ms for
     [2048,1024] vs 5.6-6.6 ms element by element within 16-128 blocks. */
  enum { BS = 64, TS = 8 };
  for (int64_t b = 0; b < batch; b++) {
    const uint32_t *s0 = s + b * plane;
    uint32_t *d0 = d + b * plane;
    for (int64_t r0 = 0; r0 < rows; r0 += BS) {
      const int64_t r1 = r0 + BS < rows ? r0 + BS : rows;
      for (int64_t c0 = 0; c0 < cols; c0 += BS) {
        const int64_t c1 = c0 + BS < cols ? c0 + BS : cols;
        for (int64_t r = r0; r < r1; r += TS) {
          for (int64_t c = c0; c < c1; c += TS) {
            if (r + TS <= r1 && c + TS <= c1) {
              uint32_t t[TS][TS];
              for (int i = 0; i < TS; i++)
                for (int j = 0; j < TS; j++) t[j][i] = s0[(r + i) * cols + c + j];
              for (int j = 0; j < TS; j++)
                for (int i = 0; i < TS; i++) d0[(c + j) * rows + r + i] = t[j][i];
            } else {
              const int64_t re = r + TS < r1 ? r + TS : r1, ce = c + TS < c1 ? c + TS : c1;
              for (int64_t i = r; i < re; i++)
                for (int64_t j = c; j < ce; j++) d0[j * rows + i] = s0[i * cols + j];
            }
          }
        }
      }
    }
  }
  return NULL;
}

#undef FN
#define FN "permuteRows"
napi_value PermuteRows(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[15];
  if (!heap_args(env, info, FN, 15, 0, &data, &len, v, NULL)) return NULL;
  const int64_t src = v[0], dst = v[1], rank = v[2];
  if (rank < 1 || rank > 6) return throw_range(env, FN, "rank must be in [1, 6]");
  const int64_t *shape = v + 3, *perm = v + 9;
  int64_t size = 1, inStride[6], seen = 0;
  for (int64_t i = rank - 1; i >= 0; i--) {
    if (shape[i] < 0) return throw_range(env, FN, "negative size");
    inStride[i] = size;
    size *= shape[i];
  }
  for (int64_t i = 0; i < rank; i++) {
    if (perm[i] < 0 || perm[i] >= rank || (seen & (1 << perm[i]))) return throw_range(env, FN, "perm is not a permutation");
    seen |= 1 << perm[i];
  }
  if (perm[rank - 1] != rank - 1) return throw_range(env, FN, "the last axis must stay last");
  BOUNDS(src, size, "source");
  BOUNDS(dst, size, "destination");
  if (size == 0) return NULL;
  const uint32_t *s = (const uint32_t *)data + src / 4;
  uint32_t *d = (uint32_t *)data + dst / 4;
  const int64_t inner = shape[rank - 1], outer = rank - 1;
  int64_t outShape[6], srcStride[6], idx[6] = {0};
  for (int64_t i = 0; i < rank; i++) {
    outShape[i] = shape[perm[i]];
    srcStride[i] = inStride[perm[i]];
  }
  const int64_t rowsTotal = size / inner;
  int64_t off = 0;
  for (int64_t row = 0; row < rowsTotal; row++) {
    memcpy(d, s + off, (size_t)inner * 4);
    d += inner;
    for (int64_t ax = outer - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += srcStride[ax];
      if (idx[ax] < outShape[ax]) break;
      off -= srcStride[ax] * outShape[ax];
      idx[ax] = 0;
    }
  }
  return NULL;
}

#undef FN
#define FN "colSum"
napi_value ColSum(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[4];
  if (!heap_args(env, info, FN, 4, 0, &data, &len, v, NULL)) return NULL;
  const int64_t src = v[0], dst = v[1], rows = v[2], cols = v[3];
  if (rows < 0 || cols < 0) return throw_range(env, FN, "negative size");
  BOUNDS(src, rows * cols, "source");
  BOUNDS(dst, cols, "destination");
  const float *s = (const float *)data + src / 4;
  float *d = (float *)data + dst / 4;
  enum { BLOCK = 512 };
  double acc[BLOCK];
  for (int64_t c0 = 0; c0 < cols; c0 += BLOCK) {
    const int64_t w = cols - c0 < BLOCK ? cols - c0 : BLOCK;
    for (int64_t j = 0; j < w; j++) acc[j] = 0;
    for (int64_t r = 0; r < rows; r++) {
      const float *row = s + r * cols + c0;
      for (int64_t j = 0; j < w; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; j++) d[c0 + j] = (float)acc[j];
  }
  return NULL;
}

#undef FN
#define FN "layerNorm"
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[8];
  double eps;
  if (!heap_args(env, info, FN, 8, 1, &data, &len, v, &eps)) return NULL;
  const int64_t xo = v[0], go = v[1], bo = v[2], yo = v[3], mo = v[4], ro = v[5], rows = v[6], d = v[7];
  if (rows < 0 || d < 1) return throw_range(env, FN, "bad size");
  BOUNDS(xo, rows * d, "x");
  BOUNDS(yo, rows * d, "y");
  BOUNDS(go, d, "gamma");
  BOUNDS(bo, d, "beta");
  BOUNDS(mo, rows, "mean");
  BOUNDS(ro, rows, "rstd");
  float *heap = (float *)data;
  const float *gamma = heap + go / 4, *beta = heap + bo / 4;
  for (int64_t r = 0; r < rows; r++) {
    const float *x = heap + xo / 4 + r * d;
    float *y = heap + yo / 4 + r * d;
    double sum = 0;
    for (int64_t j = 0; j < d; j++) sum += x[j];
    const double mu = sum / (double)d;
    double sq = 0;
    for (int64_t j = 0; j < d; j++) {
      const double c = x[j] - mu;
      sq += c * c;
    }
    const double rs = 1.0 / sqrt(sq / (double)d + eps);
    for (int64_t j = 0; j < d; j++) y[j] = (float)((x[j] - mu) * rs * gamma[j] + beta[j]);
    heap[mo / 4 + r] = (float)mu;
    heap[ro / 4 + r] = (float)rs;
  }
  return NULL;
}

#undef FN
#define FN "layerNormGrad"
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[10];
  if (!heap_args(env, info, FN, 10, 0, &data, &len, v, NULL)) return NULL;
  const int64_t dyo = v[0], xo = v[1], go = v[2], mo = v[3], ro = v[4], dxo = v[5], dgo = v[6], dbo = v[7], rows = v[8], d = v[9];
  if (rows < 0 || d < 1) return throw_range(env, FN, "bad size");
  BOUNDS(dyo, rows * d, "dy");
  BOUNDS(xo, rows * d, "x");
  BOUNDS(dxo, rows * d, "dx");
  BOUNDS(go, d, "gamma");
  BOUNDS(dgo, d, "dgamma");
  BOUNDS(dbo, d, "dbeta");
  BOUNDS(mo, rows, "mean");
  BOUNDS(ro, rows, "rstd");
  double *acc = calloc((size_t)(2 * d), sizeof(double));
  if (!acc) return throw_range(env, FN, "out of memory");
  double *accG = acc, *accB = acc + d;
  float *heap = (float *)data;
  const float *gamma = heap + go / 4;
  for (int64_t r = 0; r < rows; r++) {
    const float *dy = heap + dyo / 4 + r * d, *x = heap + xo / 4 + r * d;
    float *dx = heap + dxo / 4 + r * d;
    const double mu = heap[mo / 4 + r], rs = heap[ro / 4 + r];
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < d; j++) {
      const double xh = (x[j] - mu) * rs;
      const double g = (double)dy[j] * gamma[j];
      sg += g;
      sgx += g * xh;
      accG[j] += dy[j] * xh;
      accB[j] += dy[j];
    }
    const double mg = sg / (double)d, mgx = sgx / (double)d;
    for (int64_t j = 0; j < d; j++) {
      const double xh = (x[j] - mu) * rs;
      const double g = (double)dy[j] * gamma[j];
      dx[j] = (float)(rs * (g - mg - xh * mgx));
    }
  }
  for (int64_t j = 0; j < d; j++) {
    heap[dgo / 4 + j] = (float)accG[j];
    heap[dbo / 4 + j] = (float)accB[j];
  }
  free(acc);
  return NULL;
}

/* Shared by split (forward) and merge (backward): the same index map, copied one way or the other. */
static napi_value qkv(napi_env env, napi_callback_info info, const char *fn, int merge) {
  void *data;
  size_t len;
  int64_t v[8];
  double scale;
  if (!heap_args(env, info, fn, 8, 1, &data, &len, v, &scale)) return NULL;
  const int64_t xo = v[0], qo = v[1], ko = v[2], vo = v[3], b = v[4], t = v[5], heads = v[6], dh = v[7];
  if (b < 0 || t < 0 || heads < 1 || dh < 1) return throw_range(env, fn, "bad size");
  const int64_t d = heads * dh, d3 = 3 * d, n = b * t * d;
  if (!in_bounds(xo, 3 * n, len) || !in_bounds(qo, n, len) || !in_bounds(ko, n, len) || !in_bounds(vo, n, len)) return throw_range(env, fn, "tensor out of bounds");
  float *heap = (float *)data;
  float *x = heap + xo / 4, *q = heap + qo / 4, *k = heap + ko / 4, *vv = heap + vo / 4;
  const float sc = (float)scale;
  for (int64_t bi = 0; bi < b; bi++) {
    for (int64_t ti = 0; ti < t; ti++) {
      float *row = x + (bi * t + ti) * d3;
      for (int64_t h = 0; h < heads; h++) {
        const int64_t head = bi * heads + h;
        float *qr = q + (head * t + ti) * dh, *vr = vv + (head * t + ti) * dh, *kc = k + head * dh * t + ti;
        float *c = row + h * dh;
        if (merge) {
          for (int64_t j = 0; j < dh; j++) {
            c[j] = qr[j] * sc;
            c[d + j] = kc[j * t];
            c[2 * d + j] = vr[j];
          }
        } else {
          for (int64_t j = 0; j < dh; j++) {
            qr[j] = c[j] * sc;
            kc[j * t] = c[d + j];
            vr[j] = c[2 * d + j];
          }
        }
      }
    }
  }
  return NULL;
}

napi_value QkvSplit(napi_env env, napi_callback_info info) { return qkv(env, info, "qkvSplit", 0); }
napi_value QkvMerge(napi_env env, napi_callback_info info) { return qkv(env, info, "qkvMerge", 1); }

#undef FN
#define FN "maxPool2x2Grad"
/*
 * dx[n,h,w,c] = dy[n,h/2,w/2,c] at the first maximum of each 2x2 window (scan order row then
 * column, strict >, as tfjs' own kernels), 0 elsewhere; trailing odd rows/columns get 0.
 */
napi_value MaxPool2x2Grad(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[7];
  if (!heap_args(env, info, FN, 7, 0, &data, &len, v, NULL)) return NULL;
  const int64_t xo = v[0], dyo = v[1], dxo = v[2], n = v[3], h = v[4], w = v[5], c = v[6];
  if (n < 0 || h < 0 || w < 0 || c < 0) return throw_range(env, FN, "negative size");
  const int64_t oh = h / 2, ow = w / 2;
  BOUNDS(xo, n * h * w * c, "x");
  BOUNDS(dxo, n * h * w * c, "dx");
  BOUNDS(dyo, n * oh * ow * c, "dy");
  float *heap = (float *)data;
  const float *x = heap + xo / 4, *dy = heap + dyo / 4;
  float *dx = heap + dxo / 4;
  memset(dx, 0, (size_t)(n * h * w * c) * sizeof(float));
  for (int64_t b = 0; b < n; b++) {
    for (int64_t i = 0; i < oh; i++) {
      for (int64_t j = 0; j < ow; j++) {
        const int64_t base = ((b * h + 2 * i) * w + 2 * j) * c;
        const int64_t offs[4] = {0, c, w * c, w * c + c};
        const float *g = dy + ((b * oh + i) * ow + j) * c;
        for (int64_t ch = 0; ch < c; ch++) {
          float best = -INFINITY;
          int64_t at = -1;
          for (int p = 0; p < 4; p++) {
            const float val = x[base + offs[p] + ch];
            if (val > best) {
              best = val;
              at = base + offs[p] + ch;
            }
          }
          if (at >= 0) dx[at] += g[ch];
        }
      }
    }
  }
  return NULL;
}

#undef FN
#define FN "im2colT3x3"
/* Row (ky·3 + kx)·C + ci of the output holds x[n, h+ky-1, w+kx-1, ci] for every (n,h,w), 0 outside. */
napi_value Im2colT3x3(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  int64_t v[6];
  if (!heap_args(env, info, FN, 6, 0, &data, &len, v, NULL)) return NULL;
  const int64_t xo = v[0], oo = v[1], n = v[2], h = v[3], w = v[4], c = v[5];
  if (n < 0 || h < 0 || w < 0 || c < 0) return throw_range(env, FN, "negative size");
  const int64_t cols = n * h * w;
  BOUNDS(xo, cols * c, "x");
  BOUNDS(oo, 9 * c * cols, "output");
  const uint32_t *x = (const uint32_t *)data + xo / 4;
  uint32_t *d = (uint32_t *)data + oo / 4;
  for (int64_t ky = 0; ky < 3; ky++) {
    for (int64_t kx = 0; kx < 3; kx++) {
      for (int64_t ci = 0; ci < c; ci++) {
        for (int64_t ni = 0; ni < n; ni++) {
          for (int64_t hi = 0; hi < h; hi++) {
            const int64_t y = hi + ky - 1;
            if (y < 0 || y >= h) {
              memset(d, 0, (size_t)w * 4);
              d += w;
              continue;
            }
            const uint32_t *row = x + (ni * h + y) * w * c + ci;
            for (int64_t wi = 0; wi < w; wi++) {
              const int64_t xx = wi + kx - 1;
              *d++ = xx < 0 || xx >= w ? 0u : row[xx * c];
            }
          }
        }
      }
    }
  }
  return NULL;
}
