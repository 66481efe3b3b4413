/**
 * Parameters as a flat, named map (`blocks.0.attn.qkv.weight` → tf.Variable), declared by each
 * model as a spec (shape + initialiser). The same spec drives seeded initialisation, checkpoint
 * validation (every weight present, with its declared shape) and reload.
 */
import { tf } from '../tensor/backend.js';
import { Rng, seedFrom } from '../util/rng.js';
import { CheckpointError } from '../util/errors.js';
import type { TensorMap } from '../util/safetensors.js';

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };
export interface ParamSpec {
  shape: number[];
  init: Init;
}
export type ParamSpecs = Record<string, ParamSpec>;
export type Params = Record<string, tf.Variable>;

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** A zero-initialised bias of width n. */
export const zerosSpec = (n: number): ParamSpec => ({ shape: [n], init: { kind: 'zeros' } });

/** A stack of 3x3 convs on a 1-channel input: conv.<i>.weight [3,3,in,out] He-normal, conv.<i>.bias zeros. */
export function convStackSpecs(channels: readonly number[]): ParamSpecs {
  const specs: ParamSpecs = {};
  channels.forEach((cout, i) => {
    const cin = i === 0 ? 1 : (channels[i - 1] as number);
    specs[`conv.${i}.weight`] = { shape: [3, 3, cin, cout], init: { kind: 'normal', std: Math.sqrt(2 / (9 * cin)) } };
    specs[`conv.${i}.bias`] = zerosSpec(cout);
  });
  return specs;
}

function makeVariable(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape, 'float32');
  const v = tf.variable(t, true); // shares t's data, so t can go
  t.dispose();
  return v;
}

/**
 * Each parameter draws from its own stream seeded by (seed, name), so adding or reordering
 * parameters never changes how the others are initialised.
 */
export function initParams(specs: ParamSpecs, seed: number): Params {
  const params: Params = {};
  for (const [name, spec] of Object.entries(specs)) {
    const data = new Float32Array(size(spec.shape));
    const init = spec.init;
    if (init.kind === 'ones') data.fill(1);
    else if (init.kind === 'normal') {
      const rng = new Rng(seedFrom(seed, name));
      for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, init.std);
    }
    // Unnamed variables: tfjs variable names are process-global, and two models may coexist.
    params[name] = makeVariable(data, spec.shape);
  }
  return params;
}

/** Check `weights` against the spec (names, dtypes, shapes), naming the first offender, then make variables. */
export function paramsFromWeights(specs: ParamSpecs, weights: TensorMap, source: string): Params {
  for (const [name, spec] of Object.entries(specs)) {
    const w = weights[name];
    if (!w) throw new CheckpointError(`weight "${name}" is missing (expected shape [${spec.shape}])`, source);
    if (w.dtype !== 'F32') throw new CheckpointError(`weight "${name}" has dtype ${w.dtype}, expected F32`, source);
    if (w.shape.length !== spec.shape.length || w.shape.some((d, i) => d !== spec.shape[i])) {
      throw new CheckpointError(`weight "${name}" has shape [${w.shape}] but the config needs [${spec.shape}]`, source);
    }
  }
  for (const name of Object.keys(weights)) {
    if (!(name in specs)) throw new CheckpointError(`unexpected weight "${name}" (not part of this model's config)`, source);
  }
  const params: Params = {};
  for (const [name, spec] of Object.entries(specs)) {
    const w = weights[name] as { data: Float32Array };
    params[name] = makeVariable(w.data, spec.shape);
  }
  return params;
}

/** Copy every parameter out to a safetensors-ready map (F32, row-major). */
export function paramsToTensorMap(params: Params): TensorMap {
  const out: TensorMap = {};
  for (const [name, v] of Object.entries(params)) {
    out[name] = { dtype: 'F32', shape: [...v.shape], data: v.dataSync() as Float32Array };
  }
  return out;
}

export function countParams(params: Params): number {
  let n = 0;
  for (const v of Object.values(params)) n += v.size;
  return n;
}

export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}
