/*
 * The audio front end's hot loops in C (the JS versions in src/audio/ remain the fallback and the
 * definition; test/audio-native.test.ts checks the two agree):
 *
 *   firPolyphase(table, up, down, taps, buf, base, t0, n, out)
 *       out[i] = Σ_j table[p·taps + j] · buf[o + j] for output t = t0 + i, where t·down = n0·up + p
 *       and o = n0 + base (polyphase.ts PolyphaseStream.push). With AVX2 the products are summed in
 *       float (16 lanes), otherwise in double (4 partial sums); the JS loop sums in double.
 *   logMelFrames(src, srcStart, n, out, f0, hann, rise, segStart) -> first non-finite frame or -1
 *       frames f0 .. f0+n-1 of log(mel(|rfft512(hann · x)|) + 0.01) (logmel.ts FrameKernel.run).
 *   mp3Available() -> "" or why not; mp3Open() -> handle; mp3Decode(handle, bytes, mono) -> blocks
 *       MPEG audio through the system's libmpg123 (dlopen("libmpg123.so.0"): no headers or link
 *       dependency, so the addon builds without it and the wasm mpg123 is used when it is missing).
 *
 * Typed arrays are passed directly (not the wasm heap); every index is checked against them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
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

static double dot_generic(const float *a, const float *b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += (double)a[j] * b[j];
    s1 += (double)a[j + 1] * b[j + 1];
    s2 += (double)a[j + 2] * b[j + 2];
    s3 += (double)a[j + 3] * b[j + 3];
  }
  for (; j < n; j++) s0 += (double)a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Float products summed in float, 16 lanes: ~4x fewer instructions than converting to double. The
   rounding (|Δ| ~ 1e-6 of full scale vs the JS double sum) is ~120 dB down, below the filter's 90 dB stopband. */
__attribute__((target("avx2,fma"))) static double dot_avx2(const float *a, const float *b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), s1);
  }
  for (; j + 8 <= n; j += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
  const __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  double acc = _mm_cvtss_f32(h);
  for (; j < n; j++) acc += (double)a[j] * b[j];
  return acc;
}
static double (*pick_dot(void))(const float *, const float *, int64_t) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? dot_avx2 : dot_generic;
}
#else
static double (*pick_dot(void))(const float *, const float *, int64_t) { return dot_generic; }
#endif

#undef FN
#define FN "firPolyphase"
napi_value FirPolyphase(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv, FN)) return NULL;
  float *table, *buf, *out;
  size_t tableLen, bufLen, outLen;
  int64_t up, down, taps, base, t0, n;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&table, &tableLen) || !get_typed(env, argv[4], napi_float32_array, (void **)&buf, &bufLen) ||
      !get_typed(env, argv[8], napi_float32_array, (void **)&out, &outLen))
    return throw_range(env, FN, "table, buf and out must be Float32Arrays");
  if (!get_i64(env, argv[1], &up) || !get_i64(env, argv[2], &down) || !get_i64(env, argv[3], &taps) || !get_i64(env, argv[5], &base) ||
      !get_i64(env, argv[6], &t0) || !get_i64(env, argv[7], &n))
    return throw_range(env, FN, "sizes must be integers");
  if (up < 1 || down < 1 || taps < 1 || t0 < 0 || n < 0 || (uint64_t)(up * taps) > tableLen || (uint64_t)n > outLen) return throw_range(env, FN, "bad sizes");
  if (n == 0) return NULL;
  /* The first and last windows bound every other one (o grows with t). */
  const int64_t oFirst = (t0 * down) / up + base, oLast = ((t0 + n - 1) * down) / up + base;
  if (oFirst < 0 || oLast + taps > (int64_t)bufLen) return throw_range(env, FN, "window outside buf");
  static double (*dot)(const float *, const float *, int64_t) = NULL;
  if (!dot) dot = pick_dot(); /* idempotent: a race writes the same pointer */
  for (int64_t i = 0; i < n; i++) {
    const int64_t tm = (t0 + i) * down, n0 = tm / up, p = tm - n0 * up;
    out[i] = (float)dot(table + p * taps, buf + n0 + base, taps);
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
  int64_t bad = -1;
  for (int64_t f = 0; f < n; f++) {
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
  long rateAtStart = d->rate;
  int chAtStart = d->channels;
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
  (void)rateAtStart, (void)chAtStart;
  napi_value res, chans, v;
  NAPI_CHECK(napi_create_object(env, &res));
  const int nch = d->channels > 0 ? d->channels : 1;
  const size_t frames = used / sizeof(float) / (size_t)nch;
  const int outCh = mono ? 1 : nch;
  NAPI_CHECK(napi_create_array_with_length(env, frames ? (size_t)outCh : 0, &chans));
  int allFinite = 1;
  if (frames && mono && nch > 1) {
    /* The mean of the channels, as toMono (mono.ts): summed in double, rounded once to float. */
    napi_value ab, ta;
    void *p;
    NAPI_CHECK(napi_create_arraybuffer(env, frames * sizeof(float), &p, &ab));
    float *dst = p;
    const float *s = d->pcm;
    for (size_t i = 0; i < frames; i++) {
      double acc = 0;
      for (int c = 0; c < nch; c++) acc += s[i * (size_t)nch + c];
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
      const float *s = d->pcm + c;
      for (size_t i = 0; i < frames; i++) {
        dst[i] = s[i * (size_t)nch];
        allFinite &= isfinite(dst[i]) != 0;
      }
      NAPI_CHECK(napi_create_typedarray(env, napi_float32_array, frames, ab, 0, &ta));
      NAPI_CHECK(napi_set_element(env, chans, (uint32_t)c, ta));
    }
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
  return res;
}
