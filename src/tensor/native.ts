/**
 * The optional native addon (native/*.c, built on `npm install` or by `npm run build:native`):
 * float32 products through OpenBLAS' cblas_sgemm, plus C versions of the memory-bound heap
 * kernels, all reading and writing the tfjs wasm heap in place (no copies).
 *
 * Why native + OpenBLAS: products are ~85% of a Transformer training step on the wasm backend,
 * and inside wasm they top out at ~23 GFLOP/s (XNNPACK, 128-bit SIMD; transposed and batched
 * products far slower, hence the explicit transposes in ops.ts). OpenBLAS uses the CPU's
 * AVX-512/FMA units and reads transposed operands in place: ~95 GFLOP/s on one core of this
 * machine (AMD EPYC, OpenBLAS 0.3.21 "Cooperlake" kernels) for every product shape of the step,
 * Aᵀ·B and A·Bᵀ included. tfjs-node was not an option (its install downloads libtensorflow);
 * this needs only a C compiler and Debian's libopenblas-dev, and builds offline against Node's
 * own headers with npm's bundled node-gyp.
 *
 * What runs natively (wasmKernels.ts installNativeKernels): BatchMatMul, _FusedMatMul (linear or
 * ReLU, rank-1 bias) and MusicbertBatchMatMul through `gemm`; MaxPoolGrad for 2x2/2 'valid'
 * pools; and the loops of our Transpose, Sum, LayerNorm (both ways), q/k/v split/merge and
 * im2colᵀ kernels. What falls back: everything, when the addon is absent (no compiler, no
 * OpenBLAS, `MUSICBERT_NATIVE=0`, another backend): the wasm/JS kernels run as before; and per
 * call, other activations, PReLU, non-float32 dtypes, other pool shapes, transposes of rank > 6.
 * The native products are also right where tfjs-backend-wasm 4.22 is not (two-sided batch
 * broadcasts, fused bias with a transposed operand, an empty inner dimension; test/native.test.ts).
 *
 * Threads: OpenBLAS runs on 1 thread unless `MUSICBERT_THREADS` says otherwise (so the benchmark
 * against PyTorch --threads 1 is like for like); `setNativeThreads` changes it at run time for
 * the whole process (OpenBLAS keeps one setting). Only the products use more than one thread.
 *
 * Measured by bench/transformerStep.ts (2 layers d=256 h=4 ffn=1024, batch 16 x seq 128, Adam;
 * a 20.9 GFLOP step), ranges over three runs on this shared 2-core machine:
 *   wasm kernels only, 1 thread     0.90-1.03 s/step   20-23 GFLOP/s   5.4-6.2x PyTorch 1 thread
 *   native, 1 thread                0.32-0.35 s/step   60-65 GFLOP/s   1.8-2.1x PyTorch 1 thread
 *   native, 2 OpenBLAS threads      0.22-0.24 s/step   86-95 GFLOP/s
 *   2 workers x 1 thread            0.24-0.26 s/step   80-87 GFLOP/s
 *   PyTorch 1.13 (Debian), 1 thread 0.165-0.19 s/step; 2 threads 0.40-0.49 s/step (slower than
 *   its 1 thread here), so our best is ~1.3-1.5x PyTorch's best.
 * The audio encoder's training step (batch 32, default widths) went from 0.62 s to 0.25 s.
 * Left on the table: ops.ts still transposes explicitly before products (~35 ms of the 1-thread
 * step; OpenBLAS could read them in place), Adam's ~300 small elementwise kernels (~25 ms), and
 * XNNPACK's Conv2D (~55% of the encoder step).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../util/errors.js';

/** The addon's exports (native/addon.c). Offsets are bytes into `heap`; strides are in floats. */
export interface NativeAddon {
  gemm(
    heap: ArrayBuffer,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    aOff: number,
    bOff: number,
    cOff: number,
    strideA: number,
    strideB: number,
    biasOff: number,
    activation: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  info(): { corename: string; config: string };
  // The memory-bound kernels (native/kernels.c), each the twin of a JS kernel in wasmKernels.ts.
  transpose2d(heap: ArrayBuffer, src: number, dst: number, batch: number, rows: number, cols: number): void;
  /** Transpose keeping the last axis; shape and perm padded to 6 entries, the first `rank` used. */
  permuteRows(heap: ArrayBuffer, src: number, dst: number, rank: number, ...shapeThenPerm: number[]): void;
  colSum(heap: ArrayBuffer, src: number, dst: number, rows: number, cols: number): void;
  layerNorm(heap: ArrayBuffer, x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, rows: number, d: number, eps: number): void;
  layerNormGrad(heap: ArrayBuffer, dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number, rows: number, d: number): void;
  qkvSplit(heap: ArrayBuffer, x: number, q: number, kT: number, v: number, b: number, t: number, heads: number, dh: number, scale: number): void;
  qkvMerge(heap: ArrayBuffer, out: number, dq: number, dkT: number, dv: number, b: number, t: number, heads: number, dh: number, scale: number): void;
  maxPool2x2Grad(heap: ArrayBuffer, x: number, dy: number, dx: number, n: number, h: number, w: number, c: number): void;
  im2colT3x3(heap: ArrayBuffer, x: number, out: number, n: number, h: number, w: number, c: number): void;
  // The audio front end (native/frontend.c; the JS twins are in src/audio, see src/audio/native.ts).
  /** An aligned, padded copy of a polyphase design's [up, taps] table, for firRun. */
  firDesign(table: Float32Array, up: number, taps: number): NativeFirHandle;
  /** out[i] = output t0 + i of the design: Σ_j table[p, j] · buf[floor((t0 + i)·down / up) + base + j] (polyphase.ts). */
  firRun(h: NativeFirHandle, down: number, buf: Float32Array, base: number, t0: number, n: number, out: Float32Array): void;
  /** Returns the index (from 0) of the first frame that is not finite, or -1. */
  logMelFrames(src: Float32Array, srcStart: number, n: number, out: Float32Array, f0: number, hann: Float64Array, rise: Float64Array, segStart: Int32Array): number;
  /** '' when libmpg123.so.0 loaded, else why not. */
  mp3Available(): string;
  mp3Open(): NativeMp3Handle;
  /** `finite`: every sample returned is finite (checked while deinterleaving); `mono`: one channel, the channels' mean. */
  mp3Decode(h: NativeMp3Handle, bytes: Uint8Array, mono: boolean): NativeDecoded;
  /** '' when the library `name` (libvorbisfile.so.3) loaded, else why not; the first call's name is the one loaded. */
  oggAvailable(name: string): string;
  oggOpen(): NativeOggHandle;
  /**
   * Push the next bytes (`end`: no more follow); returns what they complete, in Vorbis channel
   * order, at most 2^18 samples: `more` asks for another call (with no bytes) before the next push.
   */
  oggDecode(h: NativeOggHandle, bytes: Uint8Array, end: boolean, mono: boolean): NativeDecoded & { more: boolean };
}

/** A block from a native decoder: `finite` = every sample is finite (checked while deinterleaving); `mono`: one channel, the channels' mean. */
export interface NativeDecoded {
  channels: Float32Array[];
  sampleRate: number;
  errors: number;
  firstError: string;
  finite: boolean;
}

/** An opaque FIR table (freed by the garbage collector). */
export type NativeFirHandle = { readonly __fir: unique symbol };

/** An opaque libmpg123 decoder (freed by the garbage collector). */
export type NativeMp3Handle = { readonly __mp3: unique symbol };

/** An opaque libvorbisfile decoder (freed by the garbage collector). */
export type NativeOggHandle = { readonly __ogg: unique symbol };

export const ADDON_FILE = 'musicbert_native.node';

/** Where the build puts the addon, seen from src/tensor (tsx) and from dist/src/tensor (built JS). */
export function addonCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..', '..'), join(here, '..', '..', '..')].map((root) => join(root, 'native', 'build', 'Release', ADDON_FILE));
}

let cached: { addon: NativeAddon | undefined; error?: string } | undefined;

/**
 * The addon, or undefined when it is not built, fails to load, or `MUSICBERT_NATIVE=0`.
 * Loaded once per thread (each worker thread loads its own instance of the same library).
 */
export function loadNative(): NativeAddon | undefined {
  if (cached) return cached.addon;
  if (process.env.MUSICBERT_NATIVE === '0') {
    cached = { addon: undefined, error: 'disabled by MUSICBERT_NATIVE=0' };
    return undefined;
  }
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    cached = { addon: undefined, error: 'not built (npm run build:native)' };
    return undefined;
  }
  const threads = threadsFromEnv(); // a bad setting is an error, not a silent fallback
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    addon.setThreads(threads);
    cached = { addon };
  } catch (e) {
    // A stale build for another Node ABI or a missing libopenblas: the wasm kernels still work.
    cached = { addon: undefined, error: `could not load ${path}: ${(e as Error).message}` };
  }
  return cached.addon;
}

/** Why the addon is not in use (undefined when it is). */
export function nativeUnavailableReason(): string | undefined {
  loadNative();
  return cached?.error;
}

/** `MUSICBERT_THREADS` (a positive integer), default 1. */
function threadsFromEnv(): number {
  const raw = process.env.MUSICBERT_THREADS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`MUSICBERT_THREADS must be a positive integer (got "${raw}")`);
  return n;
}

/** OpenBLAS threads for later products (no-op without the addon). */
export function setNativeThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`native threads must be a positive integer (got ${n})`);
  loadNative()?.setThreads(n);
}
