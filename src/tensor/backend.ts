/**
 * The tensor backend: tfjs-core on the wasm backend (XNNPACK + SIMD), chosen and measured in
 * ARCHITECTURE.md (tfjs-node cannot install offline; the pure-JS cpu backend is ~30x slower).
 * Every module that makes tensors awaits `ready()` once before its first op. On wasm, ready()
 * also installs the native OpenBLAS products when the addon is built (native.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle (dist/tf-core.node.js) registers no gradient functions and exports no
// gradient configs; its own registration, dist/register_all_gradients.js, is an ES build with
// extensionless imports that Node cannot load (checked with tfjs-core 4.22: "Cannot find module
// …/gradients/Abs_grad"). The umbrella's Node bundle is the one loadable file that registers them
// into the process-wide registry tfjs-core's engine reads, so it stays until tfjs ships them apart.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

let pending: Promise<void> | undefined;

export type BackendName = 'wasm' | 'cpu';

/** Initialise the backend (idempotent). `MUSICBERT_BACKEND=cpu` forces the pure-JS backend for debugging. */
export function ready(name: BackendName = (process.env.MUSICBERT_BACKEND as BackendName) || 'wasm'): Promise<void> {
  if (!pending) {
    pending = (async () => {
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`could not initialise the tfjs "${name}" backend`);
      await tf.ready();
      // Products through OpenBLAS when the optional native addon is built (native.ts); imported
      // here, not at the top, because wasmKernels.ts imports this module.
      if (name === 'wasm') (await import('./wasmKernels.js')).installNativeKernels();
    })();
  }
  return pending;
}

export { tf };
