/*
 * musicbert_native: kernels for the tfjs wasm backend that run natively on its heap.
 *
 * The wasm backend keeps every tensor inside one WebAssembly.Memory; JS passes that memory's
 * ArrayBuffer plus byte offsets, so each kernel reads its inputs and writes its outputs in place
 * (no copies). Every extent is checked against the buffer first, so a bad call throws a JS
 * RangeError instead of corrupting memory. Products: gemm.c (OpenBLAS); the memory-bound rest:
 * kernels.c; the audio front end (FIR resampler, log-mel frames, MP3 via libmpg123, Ogg Vorbis via
 * libvorbisfile): frontend.c.
 * The JS side is src/tensor/native.ts and src/tensor/wasmKernels.ts.
 */
#include "common.h"

napi_value Gemm(napi_env, napi_callback_info);
napi_value SetThreads(napi_env, napi_callback_info);
napi_value GetThreads(napi_env, napi_callback_info);
napi_value Info(napi_env, napi_callback_info);
napi_value Transpose2d(napi_env, napi_callback_info);
napi_value PermuteRows(napi_env, napi_callback_info);
napi_value ColSum(napi_env, napi_callback_info);
napi_value LayerNorm(napi_env, napi_callback_info);
napi_value LayerNormGrad(napi_env, napi_callback_info);
napi_value QkvSplit(napi_env, napi_callback_info);
napi_value QkvMerge(napi_env, napi_callback_info);
napi_value MaxPool2x2Grad(napi_env, napi_callback_info);
napi_value Im2colT3x3(napi_env, napi_callback_info);
napi_value FirDesign(napi_env, napi_callback_info);
napi_value FirRun(napi_env, napi_callback_info);
napi_value LogMelFrames(napi_env, napi_callback_info);
napi_value Mp3Available(napi_env, napi_callback_info);
napi_value Mp3Open(napi_env, napi_callback_info);
napi_value Mp3Decode(napi_env, napi_callback_info);
napi_value OggAvailable(napi_env, napi_callback_info);
napi_value OggOpen(napi_env, napi_callback_info);
napi_value OggDecode(napi_env, napi_callback_info);

#define FUNC(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  const napi_property_descriptor props[] = {
      FUNC("gemm", Gemm),
      FUNC("setThreads", SetThreads),
      FUNC("getThreads", GetThreads),
      FUNC("info", Info),
      FUNC("transpose2d", Transpose2d),
      FUNC("permuteRows", PermuteRows),
      FUNC("colSum", ColSum),
      FUNC("layerNorm", LayerNorm),
      FUNC("layerNormGrad", LayerNormGrad),
      FUNC("qkvSplit", QkvSplit),
      FUNC("qkvMerge", QkvMerge),
      FUNC("maxPool2x2Grad", MaxPool2x2Grad),
      FUNC("im2colT3x3", Im2colT3x3),
      FUNC("firDesign", FirDesign),
      FUNC("firRun", FirRun),
      FUNC("logMelFrames", LogMelFrames),
      FUNC("mp3Available", Mp3Available),
      FUNC("mp3Open", Mp3Open),
      FUNC("mp3Decode", Mp3Decode),
      FUNC("oggAvailable", OggAvailable),
      FUNC("oggOpen", OggOpen),
      FUNC("oggDecode", OggDecode),
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
