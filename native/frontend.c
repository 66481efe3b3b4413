/*
 * The audio front end's hot loops in C (the JS versions in src/audio/ remain the fallback and the
 * definition; test/audio-native.test.ts checks the two agree):
 *
 *   firDesign(table, up, taps) -> handle; firRun(handle, down, buf, base, t0, n, out)
 *       out[i] = Σ_j table[p·taps + j] · buf[o + j] for output t = t0 + i, where t·down = n0·up + p
 *       and o = n0 + base (polyphase.ts PolyphaseStream.push). The outputs are computed phase by
 *       phase over short runs (a row stays in cache), with incremental indices (no division per
 *       output). With AVX2 the products are summed in float (4 × 8 lanes), otherwise in double (4
 *       partial sums); the JS loop sums in double.
 *   logMelFrames(src, srcStart, n, out, f0, hann, rise, segStart) -> first non-finite frame or -1
 *       frames f0 .. f0+n-1 of log(mel(|rfft512(hann · x)|) + 0.01) (logmel.ts FrameKernel.run);
 *       with AVX2 four frames at a time, one per double lane, bit for bit the one-frame result.
 *   mp3Available() -> "" or why not; mp3Open() -> handle; mp3Decode(handle, bytes, mono) -> blocks
 *       MPEG audio through the system's libmpg123 (dlopen("libmpg123.so.0"): no headers or link
 *       dependency, so the addon builds without it and the wasm mpg123 is used when it is missing).
 *   oggAvailable(name) -> "" or why not; oggOpen() -> handle; oggDecode(handle, bytes, end, mono) -> blocks
 *       Ogg Vorbis through the system's libvorbisfile, loaded the same way (dlopen(name), normally
 *       "libvorbisfile.so.3"); the wasm libvorbis of audio-decode is used when it is missing.
 *
 * Typed arrays are passed directly (not the wasm heap); every index is checked against them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---- typed-array arguments ---- */

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *fn) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) {
    throw_range(env, fn, "wrong number of arguments");
    return 0;
  }
  return 1;
}

/* ---- polyphase FIR ---- */

/*
 * A design's tap table copied once into rows of `stride` floats (taps rounded up to 8, zero
 * padded), each row 64-byte aligned: the AVX2 loop then loads the table aligned and needs no
 * scalar tail. Held by JS as an external (freed by the garbage collector).
 */
typedef struct {
  int64_t up, taps, stride;
  float *rows; /* [up, stride] */
} Fir;

static void fir_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  Fir *f = data;
  free(f->rows);
  free(f);
}

#undef FN
#define FN "firDesign"
napi_value FirDesign(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, FN)) return NULL;
  float *table;
  size_t tableLen;
  int64_t up, taps;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&table, &tableLen)) return throw_range(env, FN, "table must be a Float32Array");
  if (!get_i64(env, argv[1], &up) || !get_i64(env, argv[2], &taps)) return throw_range(env, FN, "up and taps must be integers");
  if (up < 1 || taps < 1 || up > 65536 || taps > 65536 || (uint64_t)(up * taps) != tableLen) return throw_range(env, FN, "table is not [up, taps]");
  Fir *f = calloc(1, sizeof *f);
  const int64_t stride = (taps + 7) / 8 * 8;
  if (!f || !(f->rows = aligned_alloc(64, (size_t)(up * stride * 4 + 63) / 64 * 64))) {
    free(f);
    return throw_range(env, FN, "out of memory");
  }
  f->up = up, f->taps = taps, f->stride = stride;
  for (int64_t p = 0; p < up; p++) {
    memcpy(f->rows + p * stride, table + p * taps, (size_t)taps * 4);
    memset(f->rows + p * stride + taps, 0, (size_t)(stride - taps) * 4);
  }
  napi_value ext;
  if (napi_create_external(env, f, fir_free, NULL, &ext) != napi_ok) {
    fir_free(env, f, NULL);
    return throw_range(env, FN, "cannot create handle");
  }
  return ext;
}

/* One output: Σ_j row[j] · x[j], j < taps, summed in double (4 partial sums). */
static float dot_generic(const float *row, const float *x, int64_t taps) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t j = 0;
  for (; j + 4 <= taps; j += 4) {
    s0 += (double)row[j] * x[j];
    s1 += (double)row[j + 1] * x[j + 1];
    s2 += (double)row[j + 2] * x[j + 2];
    s3 += (double)row[j + 3] * x[j + 3];
  }
  for (; j < taps; j++) s0 += (double)row[j] * x[j];
  return (float)((s0 + s1) + (s2 + s3));
}

/* Outputs out[i], i = k, k + up, k + 2·up, ... < n all use one phase's row; their windows start
   `down` input samples apart. The caller walks the phases in turn over a short run of outputs, so
   the row and the run's input stay in L1. */
typedef void (*PhaseRun)(const Fir *, const float *row, const float *x, int64_t down, int64_t k, int64_t n, float *out);

static void phase_generic(const Fir *f, const float *row, const float *x, int64_t down, int64_t k, int64_t n, float *out) {
  for (int64_t i = k; i < n; i += f->up, x += down) out[i] = dot_generic(row, x, f->taps);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Float products summed in float, 4 × 8 lanes (four FMA chains hide the FMA latency); the last
   partial vector of the window is a masked load, so no sample past the window is read. The
   rounding (|Δ| ~ 1e-6 of full scale vs the JS double sum) is ~120 dB down, below the filter's
   90 dB stopband. */
__attribute__((target("avx2,fma"))) static void phase_avx2(const Fir *f, const float *row, const float *x, int64_t down, int64_t k, int64_t n, float *out) {
  const int64_t taps = f->taps, full = taps / 8 * 8, rem = taps - full;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), lane);
  for (int64_t i = k; i < n; i += f->up, x += down) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 32 <= full; j += 32) {
      s0 = _mm256_fmadd_ps(_mm256_load_ps(row + j), _mm256_loadu_ps(x + j), s0);
      s1 = _mm256_fmadd_ps(_mm256_load_ps(row + j + 8), _mm256_loadu_ps(x + j + 8), s1);
      s2 = _mm256_fmadd_ps(_mm256_load_ps(row + j + 16), _mm256_loadu_ps(x + j + 16), s2);
      s3 = _mm256_fmadd_ps(_mm256_load_ps(row + j + 24), _mm256_loadu_ps(x + j + 24), s3);
    }
    for (; j < full; j += 8) s0 = _mm256_fmadd_ps(_mm256_load_ps(row + j), _mm256_loadu_ps(x + j), s0);
    if (rem) s1 = _mm256_fmadd_ps(_mm256_load_ps(row + j), _mm256_maskload_ps(x + j, tail), s1);
    const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    out[i] = _mm_cvtss_f32(h);
  }
}
static PhaseRun pick_phase(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? phase_avx2 : phase_generic;
}
#else
static PhaseRun pick_phase(void) { return phase_generic; }
#endif

/* Outputs per run of phases: 16 per phase at 160 phases (44.1 kHz) keeps the run's input (~28 KB) near L1. */
enum { FIR_RUN = 2560 };

#undef FN
#define FN "firRun"
napi_value FirRun(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, FN)) return NULL;
  Fir *f;
  if (napi_get_value_external(env, argv[0], (void **)&f) != napi_ok || !f || !f->rows) return throw_range(env, FN, "argument 0 must be a firDesign handle");
  float *buf, *out;
  size_t bufLen, outLen;
  int64_t down, base, t0, n;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&buf, &bufLen) || !get_typed(env, argv[6], napi_float32_array, (void **)&out, &outLen))
    return throw_range(env, FN, "buf and out must be Float32Arrays");
  if (!get_i64(env, argv[1], &down) || !get_i64(env, argv[3], &base) || !get_i64(env, argv[4], &t0) || !get_i64(env, argv[5], &n))
    return throw_range(env, FN, "sizes must be integers");
  const int64_t up = f->up, taps = f->taps;
  if (down < 1 || down > (1 << 20) || t0 < 0 || n < 0 || t0 > ((int64_t)1 << 40) || (uint64_t)n > outLen) return throw_range(env, FN, "bad sizes");
  if (n == 0) return NULL;
  /* The first and last windows bound every other one (o grows with t). */
  const int64_t oFirst = (t0 * down) / up + base, oLast = ((t0 + n - 1) * down) / up + base;
  if (oFirst < 0 || oLast + taps > (int64_t)bufLen) return throw_range(env, FN, "window outside buf");
  static PhaseRun run = NULL;
  if (!run) run = pick_phase(); /* idempotent: a race writes the same pointer */
  /* out[i] is output t = t0 + i: t·down = n0·up + p, window buf[n0 + base ..]. */
  for (int64_t r0 = 0; r0 < n; r0 += FIR_RUN) {
    const int64_t rn = n - r0 < FIR_RUN ? n - r0 : FIR_RUN;
    const int64_t tm = (t0 + r0) * down;
    int64_t n0 = tm / up, p = tm - n0 * up;
    const int64_t q = down / up, r = down % up;
    for (int64_t k = 0; k < up && k < rn; k++) {
      run(f, f->rows + p * f->stride, buf + n0 + base, down, k, rn, out + r0);
      n0 += q, p += r;
      if (p >= up) p -= up, n0++;
    }
  }
  return NULL;
}

/* ---- log-mel frames: 400-sample Hann window, 512-point real FFT, 64 mel bands, log ---- */

enum { NFFT = 512, M = NFFT / 2, WIN = 400, HOPN = 160, BANDS = 64 };
static double twRe[M / 2], twIm[M / 2], spRe[M + 1], spIm[M + 1];
static int bitrev[M];
static pthread_once_t fftOnce = PTHREAD_ONCE_INIT;

static void fft_init(void) {
  for (int k = 0; k < M / 2; k++) {
    twRe[k] = cos(-2 * M_PI * k / M);
    twIm[k] = sin(-2 * M_PI * k / M);
  }
  for (int k = 0; k <= M; k++) {
    spRe[k] = 0.5 * cos(-2 * M_PI * k / NFFT);
    spIm[k] = 0.5 * sin(-2 * M_PI * k / NFFT);
  }
  int bits = 0;
  while ((1 << bits) < M) bits++;
  for (int i = 0; i < M; i++) {
    int r = 0;
    for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitrev[i] = r;
  }
}

/* |X[k]| for k in [k0, k1] of the real frame x[0..NFFT) given as packed complex z[j] = x[2j] + i·x[2j+1]. */
static void rfft_mag(double *re, double *im, double *mag, int k0, int k1) {
  for (int len = 2; len <= M; len <<= 1) {
    const int half = len >> 1, step = M / len;
    for (int i = 0; i < M; i += len) {
      for (int j = 0; j < half; j++) {
        const double wr = twRe[j * step], wi = twIm[j * step];
        const int a = i + j, b = a + half;
        const double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
  for (int k = k0; k <= k1; k++) {
    const int ka = k == M ? 0 : k, kb = k == 0 ? 0 : M - k;
    const double a = re[ka], b = im[ka], c = re[kb], d = im[kb];
    const double hr = spRe[k], hi = spIm[k];
    const double bd = b + d, ca = c - a;
    const double xr = 0.5 * (a + c) + hr * bd - hi * ca;
    const double xi = 0.5 * (b - d) + hr * ca + hi * bd;
    mag[k] = sqrt(xr * xr + xi * xi);
  }
}

/*
 * Four frames at once, one per lane of 4 doubles (AVX2): the same operations in the same order as
 * the loop in LogMelFrames (rfft_mag, the mel sums, the logs), so each lane's frame is bit for bit
 * what the one-frame path computes. Writes frames x0, x0 + HOPN, ... to o + f·BANDS; returns the
 * first of the four (0-3) that is not finite, or -1.
 */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static int frames4_avx2(const float *x0, const double *hann, const double *rise, const int32_t *seg, float *o) {
  const int k0 = seg[0], k1 = seg[BANDS + 1] - 1;
  __m256d re[M], im[M], mag[M + 1];
  const float *x1 = x0 + HOPN, *x2 = x1 + HOPN, *x3 = x2 + HOPN;
  for (int j = 0; j < M; j++) {
    const int s = 2 * bitrev[j];
    re[j] = s < WIN ? _mm256_mul_pd(_mm256_set_pd(x3[s], x2[s], x1[s], x0[s]), _mm256_set1_pd(hann[s])) : _mm256_setzero_pd();
    im[j] = s + 1 < WIN ? _mm256_mul_pd(_mm256_set_pd(x3[s + 1], x2[s + 1], x1[s + 1], x0[s + 1]), _mm256_set1_pd(hann[s + 1])) : _mm256_setzero_pd();
  }
  for (int len = 2; len <= M; len <<= 1) {
    const int half = len >> 1, step = M / len;
    for (int i = 0; i < M; i += len) {
      for (int j = 0; j < half; j++) {
        const __m256d wr = _mm256_set1_pd(twRe[j * step]), wi = _mm256_set1_pd(twIm[j * step]);
        const int a = i + j, b = a + half;
        const __m256d xr = _mm256_sub_pd(_mm256_mul_pd(re[b], wr), _mm256_mul_pd(im[b], wi));
        const __m256d xi = _mm256_add_pd(_mm256_mul_pd(re[b], wi), _mm256_mul_pd(im[b], wr));
        re[b] = _mm256_sub_pd(re[a], xr);
        im[b] = _mm256_sub_pd(im[a], xi);
        re[a] = _mm256_add_pd(re[a], xr);
        im[a] = _mm256_add_pd(im[a], xi);
      }
    }
  }
  const __m256d halfv = _mm256_set1_pd(0.5);
  for (int k = k0; k <= k1; k++) {
    const int ka = k == M ? 0 : k, kb = k == 0 ? 0 : M - k;
    const __m256d a = re[ka], b = im[ka], c = re[kb], d = im[kb];
    const __m256d hr = _mm256_set1_pd(spRe[k]), hi = _mm256_set1_pd(spIm[k]);
    const __m256d bd = _mm256_add_pd(b, d), ca = _mm256_sub_pd(c, a);
    const __m256d xr = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(halfv, _mm256_add_pd(a, c)), _mm256_mul_pd(hr, bd)), _mm256_mul_pd(hi, ca));
    const __m256d xi = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(halfv, _mm256_sub_pd(b, d)), _mm256_mul_pd(hr, ca)), _mm256_mul_pd(hi, bd));
    mag[k] = _mm256_sqrt_pd(_mm256_add_pd(_mm256_mul_pd(xr, xr), _mm256_mul_pd(xi, xi)));
  }
  double check[4] = {0, 0, 0, 0};
  __m256d prevRise = _mm256_setzero_pd();
  const __m256d offset = _mm256_set1_pd(0.01);
  int k = k0;
  for (int j = 0; j <= BANDS; j++) {
    const int end = seg[j + 1];
    __m256d upv = _mm256_setzero_pd(), down = _mm256_setzero_pd();
    for (; k < end; k++) {
      const __m256d v = mag[k], a = _mm256_mul_pd(v, _mm256_set1_pd(rise[k]));
      upv = _mm256_add_pd(upv, a);
      down = _mm256_add_pd(down, _mm256_sub_pd(v, a));
    }
    if (j > 0) {
      double sum[4];
      _mm256_storeu_pd(sum, _mm256_add_pd(_mm256_add_pd(prevRise, down), offset));
      for (int f = 0; f < 4; f++) {
        const double v = log(sum[f]);
        o[f * BANDS + j] = (float)v;
        check[f] += v;
      }
    }
    prevRise = upv;
  }
  for (int f = 0; f < 4; f++)
    if (!isfinite(check[f])) return f;
  return -1;
}
static int has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
#else
static int frames4_avx2(const float *x0, const double *hann, const double *rise, const int32_t *seg, float *o) {
  (void)x0, (void)hann, (void)rise, (void)seg, (void)o;
  return -1;
}
static int has_avx2(void) { return 0; }
#endif

#undef FN
#define FN "logMelFrames"
napi_value LogMelFrames(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!get_args(env, info, 8, argv, FN)) return NULL;
  float *src, *out;
  double *hann, *rise;
  int32_t *seg;
  size_t srcLen, outLen, hannLen, riseLen, segLen;
  int64_t srcStart, n, f0;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&src, &srcLen) || !get_typed(env, argv[3], napi_float32_array, (void **)&out, &outLen) ||
      !get_typed(env, argv[5], napi_float64_array, (void **)&hann, &hannLen) || !get_typed(env, argv[6], napi_float64_array, (void **)&rise, &riseLen) ||
      !get_typed(env, argv[7], napi_int32_array, (void **)&seg, &segLen))
    return throw_range(env, FN, "src, out: Float32Array; hann, rise: Float64Array; segStart: Int32Array");
  if (!get_i64(env, argv[1], &srcStart) || !get_i64(env, argv[2], &n) || !get_i64(env, argv[4], &f0)) return throw_range(env, FN, "sizes must be integers");
  if (hannLen != WIN || riseLen != M + 1 || segLen != BANDS + 2) return throw_range(env, FN, "tables of the wrong size");
  if (srcStart < 0 || n < 0 || f0 < 0 || (n > 0 && (uint64_t)(srcStart + (n - 1) * HOPN + WIN) > srcLen) || (uint64_t)((f0 + n) * BANDS) > outLen)
    return throw_range(env, FN, "frames outside src or out");
  const int k0 = seg[0], k1 = seg[BANDS + 1] - 1;
  for (int j = 0; j <= BANDS; j++)
    if (seg[j] < 1 || seg[j] > seg[j + 1] || seg[j + 1] > M + 1) return throw_range(env, FN, "segStart not increasing within the bins");
  pthread_once(&fftOnce, fft_init);
  double re[M], im[M], mag[M + 1];
  int64_t bad = -1, f = 0;
  static int avx2 = -1;
  if (avx2 < 0) avx2 = has_avx2(); /* idempotent: a race writes the same value */
  if (avx2)
    for (; f + 4 <= n; f += 4) {
      const int b = frames4_avx2(src + srcStart + f * HOPN, hann, rise, seg, out + (f0 + f) * BANDS - 1);
      if (b >= 0 && bad < 0) bad = f + b;
    }
  for (; f < n; f++) {
    const float *x = src + srcStart + f * HOPN;
    for (int j = 0; j < M; j++) {
      const int s = 2 * bitrev[j];
      re[j] = s < WIN ? x[s] * hann[s] : 0;
      im[j] = s + 1 < WIN ? x[s + 1] * hann[s + 1] : 0;
    }
    rfft_mag(re, im, mag, k0, k1);
    float *o = out + (f0 + f) * BANDS - 1;
    double check = 0, prevRise = 0;
    int k = k0;
    for (int j = 0; j <= BANDS; j++) {
      const int end = seg[j + 1];
      double upv = 0, down = 0;
      for (; k < end; k++) {
        const double v = mag[k], a = v * rise[k];
        upv += a;
        down += v - a;
      }
      if (j > 0) {
        const double v = log(prevRise + down + 0.01);
        o[j] = (float)v;
        check += v;
      }
      prevRise = upv;
    }
    if (!isfinite(check) && bad < 0) bad = f;
  }
  napi_value r;
  NAPI_CHECK(napi_create_double(env, (double)bad, &r));
  return r;
}

/* ---- decoded blocks, as both decoders return them ---- */

/*
 * { channels: Float32Array[], sampleRate, errors, firstError, finite } from `frames` interleaved
 * frames of `nch` channels (channels empty when frames is 0); with `mono`, one channel: the mean
 * of the source's channels, as toMono (mono.ts) computes it (summed in double, rounded once).
 */
static napi_value decoded_result(napi_env env, const float *pcm, size_t frames, int nch, bool mono, long rate, int errors, const char *first) {
  napi_value res, chans, v;
  NAPI_CHECK(napi_create_object(env, &res));
  const int outCh = mono ? 1 : nch;
  NAPI_CHECK(napi_create_array_with_length(env, frames ? (size_t)outCh : 0, &chans));
  int allFinite = 1;
  if (frames && mono && nch > 1) {
    napi_value ab, ta;
    void *p;
    NAPI_CHECK(napi_create_arraybuffer(env, frames * sizeof(float), &p, &ab));
    float *dst = p;
    for (size_t i = 0; i < frames; i++) {
      double acc = 0;
      for (int c = 0; c < nch; c++) acc += pcm[i * (size_t)nch + c];
      dst[i] = nch == 2 ? (float)(0.5 * acc) : (float)(acc / nch);
      allFinite &= isfinite(dst[i]) != 0;
    }
    NAPI_CHECK(napi_create_typedarray(env, napi_float32_array, frames, ab, 0, &ta));
    NAPI_CHECK(napi_set_element(env, chans, 0, ta));
  } else if (frames) {
    for (int c = 0; c < nch; c++) {
      napi_value ab, ta;
      void *p;
      NAPI_CHECK(napi_create_arraybuffer(env, frames * sizeof(float), &p, &ab));
      float *dst = p;
      const float *s = pcm + c;
      for (size_t i = 0; i < frames; i++) {
        dst[i] = s[i * (size_t)nch];
        allFinite &= isfinite(dst[i]) != 0;
      }
      NAPI_CHECK(napi_create_typedarray(env, napi_float32_array, frames, ab, 0, &ta));
      NAPI_CHECK(napi_set_element(env, chans, (uint32_t)c, ta));
    }
  }
  NAPI_CHECK(napi_set_named_property(env, res, "channels", chans));
  NAPI_CHECK(napi_create_double(env, (double)rate, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "sampleRate", v));
  NAPI_CHECK(napi_create_int32(env, errors, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "errors", v));
  NAPI_CHECK(napi_create_string_utf8(env, first, NAPI_AUTO_LENGTH, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "firstError", v));
  NAPI_CHECK(napi_get_boolean(env, allFinite, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "finite", v));
  return res;
}

/* ---- MP3 through the system's libmpg123 (dlopen) ---- */

/* The few declarations used, from mpg123.h / fmt123.h (API version 47, stable since 1.x). */
typedef struct mpg123_handle_struct mpg123_handle;
enum { MPG123_DONE = -12, MPG123_NEW_FORMAT = -11, MPG123_NEED_MORE = -10, MPG123_ERR = -1, MPG123_OK = 0 };
enum { MPG123_ADD_FLAGS = 2, MPG123_QUIET = 0x20, MPG123_GAPLESS = 0x40, MPG123_ENC_FLOAT_32 = 0x200, MPG123_MONO = 1, MPG123_STEREO = 2 };
static struct {
  int (*init)(void);
  mpg123_handle *(*create)(const char *, int *);
  void (*del)(mpg123_handle *);
  int (*param2)(mpg123_handle *, int, long, double);
  int (*format_none)(mpg123_handle *);
  int (*format)(mpg123_handle *, long, int, int);
  void (*rates)(const long **, size_t *);
  int (*open_feed)(mpg123_handle *);
  int (*feed)(mpg123_handle *, const unsigned char *, size_t);
  int (*read)(mpg123_handle *, void *, size_t, size_t *);
  int (*getformat)(mpg123_handle *, long *, int *, int *);
  const char *(*strerror)(mpg123_handle *);
} mp;
static const char *mpError = "";
static pthread_once_t mpOnce = PTHREAD_ONCE_INIT;

static void mp_load(void) {
  void *lib = dlopen("libmpg123.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    mpError = "libmpg123.so.0 not found (apt-get install libmpg123-0)";
    return;
  }
#define SYM(field, name)                                  \
  *(void **)(&mp.field) = dlsym(lib, name);               \
  if (!mp.field) {                                        \
    mpError = "libmpg123.so.0 lacks " name;               \
    return;                                               \
  }
  SYM(init, "mpg123_init") SYM(create, "mpg123_new") SYM(del, "mpg123_delete") SYM(param2, "mpg123_param2") SYM(format_none, "mpg123_format_none")
  SYM(format, "mpg123_format") SYM(rates, "mpg123_rates") SYM(open_feed, "mpg123_open_feed") SYM(feed, "mpg123_feed") SYM(read, "mpg123_read")
  SYM(getformat, "mpg123_getformat") SYM(strerror, "mpg123_strerror")
#undef SYM
  if (mp.init() != MPG123_OK) mpError = "mpg123_init failed";
}

#undef FN
#define FN "mp3Available"
napi_value Mp3Available(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_once(&mpOnce, mp_load);
  napi_value r;
  NAPI_CHECK(napi_create_string_utf8(env, mpError, NAPI_AUTO_LENGTH, &r));
  return r;
}

typedef struct {
  mpg123_handle *h;
  long rate;
  int channels;
  float *pcm; /* interleaved output gathered by one mp3Decode call */
  size_t cap;
} Mp3;

static void mp3_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  Mp3 *d = data;
  if (d->h) mp.del(d->h);
  free(d->pcm);
  free(d);
}

#undef FN
#define FN "mp3Open"
napi_value Mp3Open(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_once(&mpOnce, mp_load);
  if (*mpError) return throw_range(env, FN, mpError);
  int err = 0;
  mpg123_handle *h = mp.create(NULL, &err);
  if (!h) return throw_range(env, FN, "mpg123_new failed");
  const long *rates;
  size_t nr;
  mp.rates(&rates, &nr);
  /* Not MPG123_MONO_MIX: it averages the channels' spectra before the hybrid filterbank, which is
     wrong where the two channels use different block types (|Δ| 0.33 on a real_dev file). */
  int ok = mp.param2(h, MPG123_ADD_FLAGS, MPG123_QUIET | MPG123_GAPLESS, 0) == MPG123_OK && mp.format_none(h) == MPG123_OK;
  for (size_t i = 0; ok && i < nr; i++) ok = mp.format(h, rates[i], MPG123_MONO | MPG123_STEREO, MPG123_ENC_FLOAT_32) == MPG123_OK;
  ok = ok && mp.open_feed(h) == MPG123_OK;
  if (!ok) {
    mp.del(h);
    return throw_range(env, FN, "cannot set up libmpg123 for float output");
  }
  Mp3 *d = calloc(1, sizeof *d);
  if (!d) {
    mp.del(h);
    return throw_range(env, FN, "out of memory");
  }
  d->h = h;
  napi_value ext;
  if (napi_create_external(env, d, mp3_free, NULL, &ext) != napi_ok) {
    mp3_free(env, d, NULL);
    return throw_range(env, FN, "cannot create handle");
  }
  return ext;
}

/*
 * mp3Decode(handle, bytes: Uint8Array, mono: boolean) -> { channels: Float32Array[], sampleRate, errors, firstError, finite }
 * Feeds the bytes and reads every sample they complete (channels empty when none yet); with
 * `mono`, one channel: the mean of the source's channels.
 */
#undef FN
#define FN "mp3Decode"
napi_value Mp3Decode(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, FN)) return NULL;
  bool mono = false;
  if (napi_get_value_bool(env, argv[2], &mono) != napi_ok) return throw_range(env, FN, "argument 2 (mono) must be a boolean");
  Mp3 *d;
  if (napi_get_value_external(env, argv[0], (void **)&d) != napi_ok || !d || !d->h) return throw_range(env, FN, "argument 0 must be an mp3Open handle");
  unsigned char *in;
  size_t inLen;
  if (!get_typed(env, argv[1], napi_uint8_array, (void **)&in, &inLen)) return throw_range(env, FN, "argument 1 must be a Uint8Array");
  int errors = 0;
  char first[200] = "";
  if (inLen > 0 && mp.feed(d->h, in, inLen) != MPG123_OK) {
    errors++;
    snprintf(first, sizeof first, "%s", mp.strerror(d->h));
  }
  size_t used = 0; /* bytes of d->pcm filled */
  for (int spins = 0;; spins++) {
    if (d->cap - used < 65536) {
      size_t cap = d->cap ? 2 * d->cap : 1 << 20;
      float *p = realloc(d->pcm, cap);
      if (!p) return throw_range(env, FN, "out of memory");
      d->pcm = p, d->cap = cap;
    }
    size_t done = 0;
    const int r = mp.read(d->h, (unsigned char *)d->pcm + used, d->cap - used, &done);
    used += done;
    if (r == MPG123_NEW_FORMAT) {
      long rate;
      int ch, enc;
      mp.getformat(d->h, &rate, &ch, &enc);
      /* A change of format mid-call: stop here; JS sees the new rate on the next block. */
      if (used > 0 && (rate != d->rate || ch != d->channels)) {
        /* Not expected: Mp3RateWatch refuses rate changes before they reach us. */
        errors++;
        if (!*first) snprintf(first, sizeof first, "output format changed mid-stream");
      }
      d->rate = rate, d->channels = ch;
      continue;
    }
    if (r == MPG123_OK) continue;
    if (r == MPG123_NEED_MORE || r == MPG123_DONE) break;
    errors++;
    if (!*first) snprintf(first, sizeof first, "%s", mp.strerror(d->h));
    if (spins > 10000) break;
  }
  return decoded_result(env, d->pcm, used / sizeof(float) / (size_t)(d->channels > 0 ? d->channels : 1), d->channels > 0 ? d->channels : 1, mono, d->rate, errors, first);
}

/* ---- Ogg Vorbis through the system's libvorbisfile (dlopen) ---- */

/*
 * The few declarations used, from vorbis/vorbisfile.h and vorbis/codec.h (libvorbisfile.so.3, ABI
 * stable since 2002). OggVorbis_File is caller-allocated and its layout is private: we reserve
 * OV_FILE_BYTES for it (944 bytes on x86-64 with libvorbis 1.3.7), checked below when the headers
 * are installed.
 */
typedef struct {
  size_t (*read_func)(void *ptr, size_t size, size_t nmemb, void *datasource);
  int (*seek_func)(void *datasource, int64_t offset, int whence);
  int (*close_func)(void *datasource);
  long (*tell_func)(void *datasource);
} OvCallbacks;
typedef struct {
  int version;
  int channels;
  long rate;
  long bitrate_upper, bitrate_nominal, bitrate_lower, bitrate_window;
  void *codec_setup;
} VorbisInfo;
enum { OV_FILE_BYTES = 4096, OV_HOLE = -3 };
#if defined(__has_include)
#if __has_include(<vorbis/vorbisfile.h>)
#include <vorbis/vorbisfile.h>
_Static_assert(sizeof(OggVorbis_File) <= OV_FILE_BYTES, "OV_FILE_BYTES too small for this libvorbisfile");
_Static_assert(sizeof(ov_callbacks) == sizeof(OvCallbacks) && sizeof(vorbis_info) == sizeof(VorbisInfo), "vorbisfile declarations differ");
#endif
#endif
static struct {
  int (*open_callbacks)(void *datasource, void *vf, const char *initial, long ibytes, OvCallbacks callbacks);
  int (*clear)(void *vf);
  long (*read_float)(void *vf, float ***pcm, int samples, int *bitstream);
  VorbisInfo *(*info)(void *vf, int link);
} ov;
static char ovError[256] = "not loaded";
static pthread_mutex_t ovLock = PTHREAD_MUTEX_INITIALIZER;
static int ovTried = 0;

/* Load `name` once per process (later names are ignored); "" when usable, else why not. */
static const char *ov_load(const char *name) {
  pthread_mutex_lock(&ovLock);
  if (!ovTried) {
    ovTried = 1;
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      snprintf(ovError, sizeof ovError, "%s not found (apt-get install libvorbisfile3)", name);
    } else {
      *(void **)(&ov.open_callbacks) = dlsym(lib, "ov_open_callbacks");
      *(void **)(&ov.clear) = dlsym(lib, "ov_clear");
      *(void **)(&ov.read_float) = dlsym(lib, "ov_read_float");
      *(void **)(&ov.info) = dlsym(lib, "ov_info");
      if (!ov.open_callbacks || !ov.clear || !ov.read_float || !ov.info) snprintf(ovError, sizeof ovError, "%s lacks the ov_* functions", name);
      else ovError[0] = 0;
    }
  }
  pthread_mutex_unlock(&ovLock);
  return ovError;
}

#undef FN
#define FN "oggAvailable"
/* oggAvailable(libraryName) -> "" or why not (the first call's name is the one loaded). */
napi_value OggAvailable(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, FN)) return NULL;
  char name[256];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len == 0 || len >= sizeof name - 1)
    return throw_range(env, FN, "argument 0 must be a library name");
  napi_value r;
  NAPI_CHECK(napi_create_string_utf8(env, ov_load(name), NAPI_AUTO_LENGTH, &r));
  return r;
}

/*
 * One stream. JS pushes the file's bytes in order; libvorbisfile pulls them through read_func from
 * `in` (a non-seekable source). libvorbisfile treats "no bytes" as the end of the stream, and
 * running dry in the middle of a chained stream's headers would lose its place, so it reads only
 * while more than OGG_LOOKAHEAD bytes it has not taken are buffered, or once the input has ended.
 * It opens (reads the three headers) once the bytes suffice: a failed open starts over from the
 * first byte when twice as many are buffered, so headers of any size open.
 */
enum { OGG_LOOKAHEAD = 1 << 18, OGG_MAX_SAMPLES = 1 << 18 };
typedef struct {
  void *vf;                  /* OV_FILE_BYTES, 64-byte aligned */
  int open, failed, ended;
  unsigned char *in;         /* bytes pushed and not yet dropped */
  size_t len, pos, cap;      /* pos: the next byte read_func hands out */
  size_t nextTry;            /* open again once len reaches this */
  long rate;
  int channels;
} Ogg;

static size_t ogg_read(void *ptr, size_t size, size_t nmemb, void *src) {
  Ogg *d = src;
  errno = 0;
  if (size == 0) return 0;
  size_t n = nmemb, avail = (d->len - d->pos) / size;
  if (n > avail) n = avail;
  memcpy(ptr, d->in + d->pos, n * size);
  d->pos += n * size;
  return n;
}

static void ogg_free(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  Ogg *d = data;
  if (d->open) ov.clear(d->vf);
  free(d->vf);
  free(d->in);
  free(d);
}

#undef FN
#define FN "oggOpen"
napi_value OggOpen(napi_env env, napi_callback_info info) {
  (void)info;
  if (ovError[0]) return throw_range(env, FN, ovError);
  Ogg *d = calloc(1, sizeof *d);
  if (!d || !(d->vf = aligned_alloc(64, OV_FILE_BYTES))) {
    free(d);
    return throw_range(env, FN, "out of memory");
  }
  memset(d->vf, 0, OV_FILE_BYTES);
  d->nextTry = 1 << 16;
  napi_value ext;
  if (napi_create_external(env, d, ogg_free, NULL, &ext) != napi_ok) {
    ogg_free(env, d, NULL);
    return throw_range(env, FN, "cannot create handle");
  }
  return ext;
}

static const char *ov_error_name(long code) {
  switch (code) {
    case -128: return "read error";
    case -129: return "internal fault";
    case -130: return "unimplemented feature";
    case -131: return "invalid argument";
    case -132: return "not a Vorbis stream";
    case -133: return "bad Vorbis header";
    case -134: return "unsupported Vorbis version";
    case -137: return "invalid stream section (bad link)";
    default: return "decoder error";
  }
}

/*
 * oggDecode(handle, bytes: Uint8Array, end: boolean, mono: boolean)
 *   -> { channels, sampleRate, errors, firstError, finite, more }
 * Appends the bytes (`end`: none follow) and returns the samples decoded from them, at most
 * OGG_MAX_SAMPLES / channels frames: `more` says the call stopped there and should be repeated (with no bytes) before
 * the next push, so a small stream that decodes to hours never becomes one huge block. Channels
 * come in Vorbis order. A fatal decoder error stops the stream: `errors` 1 and `firstError` say
 * why, and every later call returns nothing.
 */
#undef FN
#define FN "oggDecode"
napi_value OggDecode(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, FN)) return NULL;
  Ogg *d;
  if (napi_get_value_external(env, argv[0], (void **)&d) != napi_ok || !d || !d->vf) return throw_range(env, FN, "argument 0 must be an oggOpen handle");
  unsigned char *bytes;
  size_t nBytes;
  bool end = false, mono = false;
  if (!get_typed(env, argv[1], napi_uint8_array, (void **)&bytes, &nBytes)) return throw_range(env, FN, "argument 1 must be a Uint8Array");
  if (napi_get_value_bool(env, argv[2], &end) != napi_ok || napi_get_value_bool(env, argv[3], &mono) != napi_ok)
    return throw_range(env, FN, "arguments 2 (end) and 3 (mono) must be booleans");
  if (d->ended && nBytes > 0) return throw_range(env, FN, "bytes pushed after the end");
  d->ended |= end;
  int errors = 0;
  char first[200] = "";
  /* Drop what libvorbisfile has taken (never before it opens: a failed open starts over). */
  if (d->open && d->pos > 0 && d->pos >= d->len / 2) {
    memmove(d->in, d->in + d->pos, d->len - d->pos);
    d->len -= d->pos, d->pos = 0;
  }
  if (nBytes > 0 && !d->failed) {
    if (d->len + nBytes > d->cap) {
      size_t cap = d->cap ? d->cap : 1 << 16;
      while (cap < d->len + nBytes) cap *= 2;
      unsigned char *p = realloc(d->in, cap);
      if (!p) return throw_range(env, FN, "out of memory");
      d->in = p, d->cap = cap;
    }
    memcpy(d->in + d->len, bytes, nBytes);
    d->len += nBytes;
  }
  if (!d->open && !d->failed && (d->ended || d->len >= d->nextTry)) {
    const OvCallbacks cb = {ogg_read, NULL, NULL, NULL};
    d->pos = 0;
    const int r = ov.open_callbacks(d, d->vf, NULL, 0, cb); /* clears vf itself on failure */
    if (r == 0) {
      const VorbisInfo *vi = ov.info(d->vf, -1);
      d->open = 1;
      d->rate = vi ? vi->rate : 0;
      d->channels = vi ? vi->channels : 0;
      if (d->channels < 1 || d->channels > 255 || d->rate < 1) {
        d->failed = 1, errors = 1;
        snprintf(first, sizeof first, "Vorbis header declares %d channels at %ld Hz", d->channels, d->rate);
      }
    } else if (d->ended) {
      d->failed = 1, errors = 1;
      snprintf(first, sizeof first, "%s (ov_open %d)", ov_error_name(r), r);
    } else {
      d->pos = 0;
      d->nextTry = 2 * d->len;
    }
  }
  size_t frames = 0;
  const int nch = d->channels > 0 ? d->channels : 1, outCh = mono ? 1 : nch;
  const size_t maxFrames = OGG_MAX_SAMPLES / (size_t)nch;
  bool more = false;
  int allFinite = 1;
  /* The block is written straight into the JS arrays (allocated at the first samples). */
  napi_value abs[256];
  float *dst[256];
  if (d->open && !d->failed) {
    while (frames < maxFrames && (d->ended || d->len - d->pos > OGG_LOOKAHEAD)) {
      float **pcm;
      int bs;
      const long n = ov.read_float(d->vf, &pcm, (int)(maxFrames - frames), &bs);
      if (n == 0) break; /* the end (or, before `end`, the buffered bytes ran dry: more come) */
      if (n == OV_HOLE) continue; /* pages missing (the JS page filter counts them) */
      if (n < 0) {
        d->failed = 1, errors = 1;
        snprintf(first, sizeof first, "%s (ov_read_float %ld)", ov_error_name(n), n);
        break;
      }
      const VorbisInfo *vi = ov.info(d->vf, -1);
      if (!vi || vi->channels != d->channels || vi->rate != d->rate) {
        /* A chained stream whose next link has another format: not supported, stop here. */
        d->failed = 1, errors = 1;
        snprintf(first, sizeof first, "a chained Ogg stream changes format (%d ch, %ld Hz, then %d ch, %ld Hz)", d->channels, d->rate, vi ? vi->channels : 0,
                 vi ? vi->rate : 0);
        break;
      }
      if (frames == 0)
        for (int c = 0; c < outCh; c++) {
          void *p;
          NAPI_CHECK(napi_create_arraybuffer(env, maxFrames * sizeof(float), &p, &abs[c]));
          dst[c] = p;
        }
      if (mono && nch > 1) {
        /* The mean of the channels, as toMono (mono.ts): summed in double, rounded once to float. */
        float *o = dst[0] + frames;
        for (long i = 0; i < n; i++) {
          double acc = 0;
          for (int c = 0; c < nch; c++) acc += pcm[c][i];
          o[i] = nch == 2 ? (float)(0.5 * acc) : (float)(acc / nch);
          allFinite &= isfinite(o[i]) != 0;
        }
      } else {
        for (int c = 0; c < nch; c++) {
          float *o = dst[c] + frames;
          memcpy(o, pcm[c], (size_t)n * sizeof(float));
          for (long i = 0; i < n; i++) allFinite &= isfinite(o[i]) != 0;
        }
      }
      frames += (size_t)n;
    }
    more = frames >= maxFrames;
  }
  napi_value res, chans, v;
  NAPI_CHECK(napi_create_object(env, &res));
  NAPI_CHECK(napi_create_array_with_length(env, frames ? (size_t)outCh : 0, &chans));
  for (int c = 0; frames && c < outCh; c++) {
    napi_value ta;
    NAPI_CHECK(napi_create_typedarray(env, napi_float32_array, frames, abs[c], 0, &ta));
    NAPI_CHECK(napi_set_element(env, chans, (uint32_t)c, ta));
  }
  NAPI_CHECK(napi_set_named_property(env, res, "channels", chans));
  NAPI_CHECK(napi_create_double(env, (double)d->rate, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "sampleRate", v));
  NAPI_CHECK(napi_create_int32(env, errors, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "errors", v));
  NAPI_CHECK(napi_create_string_utf8(env, first, NAPI_AUTO_LENGTH, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "firstError", v));
  NAPI_CHECK(napi_get_boolean(env, allFinite, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "finite", v));
  NAPI_CHECK(napi_get_boolean(env, more, &v));
  NAPI_CHECK(napi_set_named_property(env, res, "more", v));
  return res;
}
