/**
 * Training loop for the baseline convnets: seeded mini-batches of log-mel patches, one loss per
 * head (sigmoid → binary cross-entropy, softmax → cross-entropy, each averaged over the rows its
 * mask keeps), summed; Adam. Gradients come from ConvNet.backward, so no autograd tape is used.
 */
import { tf } from '../../tensor/backend.js';
import { Rng } from '../../util/rng.js';
import type { ConvNet } from './convnet.js';

/** Targets for one head: `y` [n, size] (multi-hot or one-hot); `mask` [n] keeps rows that have a label. */
export interface HeadTargets {
  y: Float32Array;
  mask?: Float32Array;
}

/** Patches and per-patch targets. */
export interface PatchSet {
  x: Float32Array; // [n, T, F] normalised log-mel
  n: number;
  frames: number;
  bands: number;
  targets: Record<string, HeadTargets>;
}

export interface TrainConvNetOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Called after every step with the summed loss. */
  onStep?: (step: number, total: number, loss: number) => void;
}

/**
 * Per-head losses and their gradients w.r.t. the logits, given one batch's logits and targets.
 * Exported for the gradient check; the trainer calls it inside its step.
 */
export function headLosses(net: ConvNet, logits: Record<string, tf.Tensor2D>, targets: Record<string, { y: tf.Tensor2D; mask: tf.Tensor2D }>): { loss: tf.Scalar; dLogits: Record<string, tf.Tensor2D> } {
  let loss = tf.scalar(0);
  const dLogits: Record<string, tf.Tensor2D> = {};
  for (const h of net.config.heads) {
    const z = logits[h.name];
    const t = targets[h.name];
    if (!z || !t) continue;
    const kept = tf.maximum(tf.sum(t.mask), 1); // rows with a label
    if (h.kind === 'sigmoid') {
      // BCE with logits, stable form: max(z,0) − z·y + log(1 + e^−|z|); mean over kept rows × size
      const denom = tf.mul(kept, h.size);
      const l = tf.add(tf.sub(tf.relu(z), tf.mul(z, t.y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      loss = tf.add(loss, tf.div(tf.sum(tf.mul(l, t.mask)), denom));
      dLogits[h.name] = tf.div(tf.mul(tf.sub(tf.sigmoid(z), t.y), t.mask), denom) as tf.Tensor2D;
    } else {
      const logp = tf.logSoftmax(z);
      loss = tf.add(loss, tf.div(tf.neg(tf.sum(tf.mul(tf.mul(logp, t.y), t.mask))), kept));
      dLogits[h.name] = tf.div(tf.mul(tf.sub(tf.exp(logp), t.y), t.mask), kept) as tf.Tensor2D;
    }
  }
  return { loss: loss as tf.Scalar, dLogits };
}

function gatherRows(src: Float32Array, width: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(src.subarray(r * width, r * width + width), i * width));
  return out;
}

function zerosVariable(shape: number[]): tf.Variable {
  const z = tf.zeros(shape);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}

/** Train `net` in place; returns the mean loss of each epoch. */
export function trainConvNet(net: ConvNet, data: PatchSet, opts: TrainConvNetOptions): number[] {
  const rng = new Rng(opts.seed);
  const cell = data.frames * data.bands;
  const stepsPerEpoch = Math.max(1, Math.ceil(data.n / opts.batchSize));
  const total = stepsPerEpoch * opts.epochs;
  // Adam state, one pair of moments per parameter.
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  for (const [name, p] of net.params) {
    m.set(name, zerosVariable(p.shape));
    v.set(name, zerosVariable(p.shape));
  }
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const epochLoss: number[] = [];
  let step = 0;
  try {
    for (let e = 0; e < opts.epochs; e++) {
      const order = rng.shuffle(Array.from({ length: data.n }, (_, i) => i));
      let sum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const rows = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
        if (rows.length === 0) continue;
        step++;
        const lossValue = tf.tidy(() => {
          const x = tf.tensor4d(gatherRows(data.x, cell, rows), [rows.length, data.frames, data.bands, 1]);
          const targets: Record<string, { y: tf.Tensor2D; mask: tf.Tensor2D }> = {};
          for (const h of net.config.heads) {
            const t = data.targets[h.name];
            if (!t) continue;
            const y = tf.tensor2d(gatherRows(t.y, h.size, rows), [rows.length, h.size]);
            const mask = t.mask ? tf.tensor2d(gatherRows(t.mask, 1, rows), [rows.length, 1]) : tf.ones([rows.length, 1]);
            targets[h.name] = { y, mask: mask as tf.Tensor2D };
          }
          const fwd = net.forward(x);
          const { loss, dLogits } = headLosses(net, fwd.logits, targets);
          const grads = net.backward(fwd.tape, dLogits);
          const c1 = 1 - beta1 ** step;
          const c2 = 1 - beta2 ** step;
          for (const [name, p] of net.params) {
            const g = grads.get(name);
            if (!g) continue;
            const mi = m.get(name) as tf.Variable;
            const vi = v.get(name) as tf.Variable;
            mi.assign(tf.add(tf.mul(mi, beta1), tf.mul(g, 1 - beta1)));
            vi.assign(tf.add(tf.mul(vi, beta2), tf.mul(tf.square(g), 1 - beta2)));
            const upd = tf.div(tf.div(mi, c1), tf.add(tf.sqrt(tf.div(vi, c2)), eps));
            p.assign(tf.sub(p, tf.mul(upd, opts.lr)));
          }
          return loss.dataSync()[0] as number;
        });
        if (!Number.isFinite(lossValue)) throw new Error(`convnet training diverged (loss ${lossValue} at step ${step})`);
        sum += lossValue;
        opts.onStep?.(step, total, lossValue);
      }
      epochLoss.push(sum / stepsPerEpoch);
    }
  } finally {
    for (const t of [...m.values(), ...v.values()]) t.dispose();
  }
  return epochLoss;
}
