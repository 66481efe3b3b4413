/* Argument checks shared by the addon's functions (see addon.c for the exported API). */
#ifndef MUSICBERT_NATIVE_COMMON_H
#define MUSICBERT_NATIVE_COMMON_H

#include <node_api.h>
#include <stdint.h>
#include <stdio.h>

#define NAPI_CHECK(call)                                                          \
  do {                                                                            \
    if ((call) != napi_ok) {                                                      \
      napi_throw_error(env, NULL, "musicbert_native: N-API call failed: " #call); \
      return NULL;                                                                \
    }                                                                             \
  } while (0)

static inline napi_value throw_range(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "musicbert_native.%s: %s", fn, what);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

/* An integral JS number (within 2^53) as int64. */
static inline int get_i64(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (d != d || d < -9007199254740992.0 || d > 9007199254740992.0 || (double)(int64_t)d != d) return 0;
  *out = (int64_t)d;
  return 1;
}

/*
 * The common call shape fn(heap: ArrayBuffer, i1, ..., iN, d1, ..., dM): reads exactly `count`
 * integers after the heap into ints[], then `ndoubles` numbers into doubles[]; returns 0 (with a
 * JS exception pending) on any mismatch.
 */
static inline int heap_args(napi_env env, napi_callback_info info, const char *fn, size_t count, size_t ndoubles, void **heap, size_t *len, int64_t *ints,
                            double *doubles) {
  napi_value argv[24];
  size_t argc = 24;
  const size_t want = 1 + count + ndoubles;
  if (want > 24 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_range(env, fn, "bad call");
    return 0;
  }
  if (argc != want) {
    char msg[64];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, argc);
    throw_range(env, fn, msg);
    return 0;
  }
  bool isAb = false;
  if (napi_is_arraybuffer(env, argv[0], &isAb) != napi_ok || !isAb) {
    throw_range(env, fn, "argument 0 must be an ArrayBuffer (the wasm heap)");
    return 0;
  }
  if (napi_get_arraybuffer_info(env, argv[0], heap, len) != napi_ok) {
    throw_range(env, fn, "cannot read the ArrayBuffer");
    return 0;
  }
  for (size_t i = 0; i < count; i++) {
    if (!get_i64(env, argv[i + 1], &ints[i])) {
      throw_range(env, fn, "offsets and sizes must be integers");
      return 0;
    }
  }
  for (size_t i = 0; i < ndoubles; i++) {
    if (napi_get_value_double(env, argv[1 + count + i], &doubles[i]) != napi_ok || doubles[i] != doubles[i]) {
      throw_range(env, fn, "scalar arguments must be numbers");
      return 0;
    }
  }
  return 1;
}

/* Byte range [off, off + n·4) inside a buffer of `len` bytes, 4-byte aligned, n >= 0. */
static inline int in_bounds(int64_t off, int64_t n, size_t len) {
  if (off < 0 || n < 0 || (off & 3) != 0) return 0;
  return (uint64_t)off + (uint64_t)n * 4u <= (uint64_t)len;
}

#endif
