/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights directly rather than
 * added to the gradient, so decay strength does not depend on the gradient scale. Same update as
 * torch.optim.AdamW:
 *   p ← p − lr·wd·p          (only for decayed params)
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * Moments live in tf.Variables and round-trip through a TensorMap for checkpoints, so a resumed
 * run continues with bit-identical state.
 */
import { tf } from '../tensor/backend.js';
import { CheckpointError, ConfigError } from '../util/errors.js';
import type { TensorMap } from '../util/safetensors.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Whether a parameter gets weight decay. Default: `defaultDecay`. */
  decay: (name: string, shape: readonly number[]) => boolean;
}

/**
 * Decay only weight matrices and conv kernels: not biases, LayerNorm gains/offsets (rank 1) nor
 * embeddings / position / type tables / the learned [MASK] vector, which decay would pull toward
 * zero for no regularising benefit (the BERT and GPT recipes exclude them the same way).
 */
export function defaultDecay(name: string, shape: readonly number[]): boolean {
  if (shape.length < 2) return false;
  return !/(emb|embedding|norm|ln|bias|pos|position|type|token|mask)/i.test(name);
}

export function adamWConfig(overrides: Partial<AdamWConfig> = {}): AdamWConfig {
  const cfg: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decay: defaultDecay, ...overrides };
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(cfg[k] >= 0 && cfg[k] < 1)) throw new ConfigError(`AdamW: ${k} must be in [0, 1), got ${cfg[k]}`);
  }
  if (!(cfg.eps > 0)) throw new ConfigError(`AdamW: eps must be > 0, got ${cfg.eps}`);
  if (!(cfg.weightDecay >= 0)) throw new ConfigError(`AdamW: weightDecay must be >= 0, got ${cfg.weightDecay}`);
  return cfg;
}

export class AdamW {
  readonly config: AdamWConfig;
  /** Number of updates applied so far (t in the bias corrections). */
  private t = 0;
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};

  constructor(
    private readonly params: Record<string, tf.Variable>,
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = adamWConfig(config);
    for (const [name, p] of Object.entries(params)) {
      // tidy: tf.variable keeps the initial tensor's handle alive otherwise (a leak per moment).
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    }
  }

  get steps(): number {
    return this.t;
  }

  /**
   * Apply one update with learning rate `lr`. `grads` is keyed like the params; a parameter with
   * no gradient this step (unused by the loss) is left untouched, moments included, as PyTorch does.
   */
  step(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay, decay } = this.config;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (const [name, g] of Object.entries(grads)) {
      const p = this.params[name];
      if (!p) throw new ConfigError(`AdamW: gradient for unknown parameter "${name}"`);
      const m = this.m[name] as tf.Variable;
      const v = this.v[name] as tf.Variable;
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), eps));
        let base: tf.Tensor = p;
        if (weightDecay > 0 && decay(name, p.shape)) base = tf.mul(p, 1 - lr * weightDecay);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(base, tf.mul(update, lr)));
      });
    }
  }

  /** Moments as `m.<param>` / `v.<param>` plus the update count `t`, for optimizer.safetensors. */
  exportState(): TensorMap {
    const out: TensorMap = { t: { dtype: 'I32', shape: [1], data: Int32Array.of(this.t) } };
    for (const name of Object.keys(this.params)) {
      const m = this.m[name] as tf.Variable;
      const v = this.v[name] as tf.Variable;
      out[`m.${name}`] = { dtype: 'F32', shape: [...m.shape], data: m.dataSync() as Float32Array };
      out[`v.${name}`] = { dtype: 'F32', shape: [...v.shape], data: v.dataSync() as Float32Array };
    }
    return out;
  }

  /** Restore state written by exportState. Every moment must be present with the parameter's shape. */
  importState(state: TensorMap, source = 'optimizer state'): void {
    const t = state.t;
    if (!t || t.data.length !== 1) throw new CheckpointError('optimizer state has no update count "t"', source);
    for (const name of Object.keys(this.params)) {
      const p = this.params[name] as tf.Variable;
      for (const kind of ['m', 'v'] as const) {
        const key = `${kind}.${name}`;
        const e = state[key];
        if (!e) throw new CheckpointError(`optimizer state lacks "${key}"`, source);
        if (e.dtype !== 'F32' || e.shape.join(',') !== p.shape.join(',')) {
          throw new CheckpointError(`optimizer state "${key}" has shape [${e.shape}] but the parameter is [${p.shape}]`, source);
        }
      }
    }
    for (const name of Object.keys(this.params)) {
      const p = this.params[name] as tf.Variable;
      for (const kind of ['m', 'v'] as const) {
        const e = state[`${kind}.${name}`]!;
        const target = (kind === 'm' ? this.m : this.v)[name] as tf.Variable;
        tf.tidy(() => target.assign(tf.tensor(e.data as Float32Array, p.shape, 'float32')));
      }
    }
    this.t = t.data[0] as number;
  }

  dispose(): void {
    for (const x of Object.values(this.m)) x.dispose();
    for (const x of Object.values(this.v)) x.dispose();
  }
}

/**
 * Scale all gradients together so their global L2 norm is at most `maxNorm` (the norm over every
 * element of every gradient, as torch.nn.utils.clip_grad_norm_). Returns new tensors (the caller
 * disposes both sets) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const names = Object.keys(grads);
  const norm =
    names.length === 0
      ? 0
      : tf.tidy(() => {
          const sq = names.map((n) => tf.sum(tf.square(grads[n] as tf.Tensor)));
          return tf.sqrt(tf.addN(sq));
        });
  const normValue = typeof norm === 'number' ? norm : (norm.dataSync()[0] as number);
  if (typeof norm !== 'number') norm.dispose();
  const scale = Number.isFinite(maxNorm) && maxNorm > 0 && normValue > maxNorm ? maxNorm / (normValue + 1e-6) : 1;
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = scale === 1 ? tf.clone(grads[n] as tf.Tensor) : tf.tidy(() => tf.mul(grads[n] as tf.Tensor, scale));
  return { grads: out, norm: normValue };
}
