/**
 * The pre-training losses as pure tensor functions: tensors in, a scalar out, no model inside.
 * The stage-2 step (src/train/musicbertLoss.ts) decides which positions and pairs they see; here
 * only the arithmetic lives, so each loss can be checked against a hand computation.
 *
 * Every function must be called inside a tf.tidy / gradient tape by the caller; intermediates are
 * not disposed here on purpose so autodiff can see them.
 */
import { tf } from '../tensor/backend.js';
import { l2Normalize, matMul } from '../tensor/ops.js';

export type RegressionKind = 'mse' | 'smooth-l1';

/**
 * Music "MLM": reconstruction error on the masked positions only.
 * pred, target [..., D]; weights [...] (1 = a masked position to predict, 0 = ignore).
 * Per position the error is averaged over D; positions are averaged with their weights, so the
 * loss does not depend on how many positions happened to be masked.
 * smooth-l1 is Huber with threshold `beta` (0.5·d²/β below β, |d| − β/2 above), as in Fast R-CNN.
 */
export function maskedRegression(
  pred: tf.Tensor,
  target: tf.Tensor,
  weights: tf.Tensor,
  kind: RegressionKind = 'mse',
  beta = 1,
): tf.Scalar {
  const diff = tf.sub(pred, target);
  let elem: tf.Tensor;
  if (kind === 'mse') {
    elem = tf.square(diff);
  } else {
    const a = tf.abs(diff);
    // where() differentiates both branches; both are finite, so the gradient is exact.
    elem = tf.where(tf.less(a, beta), tf.mul(tf.square(diff), 0.5 / beta), tf.sub(a, 0.5 * beta));
  }
  const perPos = tf.mean(elem, -1); // [...]
  return weightedMean(perPos, weights);
}

/** sum(values · weights) / max(sum(weights), 1): zero (not NaN) when nothing is selected. */
export function weightedMean(values: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  const total = tf.sum(tf.mul(values, weights));
  return tf.div(total, tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
}

/** Similarity logits a·bᵀ/τ through the plain-product matMul (fast gradient on wasm). a [M,D], b [N,D] → [M,N]. */
export function similarityLogits(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.div(matMul(a, tf.transpose(b) as tf.Tensor2D), temperature) as tf.Tensor2D;
}

/**
 * Soft-target cross-entropy of each row of `logits` [M, N] against `targets` [M, N] (rows sum to
 * 1), averaged over rows with `rowWeights` [M] (defaults to all ones).
 */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D, rowWeights?: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits, -1);
  const perRow = tf.neg(tf.sum(tf.mul(targets, logp), -1)); // [M]
  if (!rowWeights) return tf.mean(perRow) as tf.Scalar;
  return weightedMean(perRow, rowWeights);
}

/**
 * InfoNCE (contrastive predictive coding): each query must pick its positive key out of all keys.
 * queries [M, D], keys [N, D], positives[i] ∈ [0, N) is query i's key. Both sides are
 * L2-normalised so the logits are cosine similarities / τ. Every other key is a negative — in
 * the MIM use that is every other music vector in the batch, the same track's other positions
 * included, which is what makes the task predictive rather than a track-identity lookup.
 */
export function infoNce(
  queries: tf.Tensor2D,
  keys: tf.Tensor2D,
  positives: ArrayLike<number>,
  temperature: number,
): tf.Scalar {
  const m = queries.shape[0];
  const n = keys.shape[0];
  if (positives.length !== m) throw new RangeError(`infoNce: ${positives.length} positives for ${m} queries`);
  const logits = similarityLogits(l2Normalize(queries), l2Normalize(keys), temperature); // [M, N]
  const onehot = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const p = positives[i] as number;
    if (!(p >= 0 && p < n)) throw new RangeError(`infoNce: positive ${p} of query ${i} is outside [0, ${n})`);
    onehot[i * n + p] = 1;
  }
  return softCrossEntropy(logits, tf.tensor2d(onehot, [m, n]));
}

/**
 * Symmetric InfoNCE (CLIP): a [B, P] and b [B, P] are paired row by row. With `groups`, rows that
 * share a group id (two tracks of one album, say) all count as positives, with the target mass
 * spread evenly over them, so duplicates in a batch are not pushed apart as false negatives.
 * Loss = ½ (CE(a→b) + CE(b→a)).
 */
export function symmetricInfoNce(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  temperature: number,
  groups?: ArrayLike<number>,
): tf.Scalar {
  const n = a.shape[0];
  if (b.shape[0] !== n) throw new RangeError(`symmetricInfoNce: ${n} rows vs ${b.shape[0]} rows`);
  const targets = pairTargets(n, groups);
  const t = tf.tensor2d(targets, [n, n]);
  const logits = similarityLogits(l2Normalize(a), l2Normalize(b), temperature); // [B, B]
  // The target matrix is symmetric (same-group is a symmetric relation), so the b→a direction
  // uses the same targets against the transposed logits.
  const ab = softCrossEntropy(logits, t);
  const ba = softCrossEntropy(tf.transpose(logits) as tf.Tensor2D, t);
  return tf.mul(tf.add(ab, ba), 0.5) as tf.Scalar;
}

/** Row-normalised target matrix [n, n]: identity, or uniform over same-group columns. */
export function pairTargets(n: number, groups?: ArrayLike<number>): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    if (!groups) {
      t[i * n + i] = 1;
      continue;
    }
    let count = 0;
    for (let j = 0; j < n; j++) if (groups[j] === groups[i]) count++;
    for (let j = 0; j < n; j++) if (groups[j] === groups[i]) t[i * n + j] = 1 / count;
  }
  return t;
}

/**
 * Binary cross-entropy with logits, the numerically stable form
 * max(x, 0) − x·z + log(1 + e^−|x|), averaged over all elements (optionally weighted elementwise,
 * e.g. to ignore padded rows). logits and targets share a shape.
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  const elem = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
  if (!weights) return tf.mean(elem) as tf.Scalar;
  return weightedMean(elem, tf.mul(weights, tf.onesLike(elem)));
}

/**
 * Token cross-entropy: logits [N, V], targets [N] class ids, weights [N] (1 = count this row).
 * Returns the weighted mean of −log p(target). The one-hot target is built on the JS side: the
 * rows passed here are already only the masked positions, so N·V stays small.
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, targets: ArrayLike<number>, weights?: tf.Tensor1D): tf.Scalar {
  const [n, v] = logits.shape;
  if (targets.length !== n) throw new RangeError(`maskedCrossEntropy: ${targets.length} targets for ${n} rows`);
  const onehot = new Float32Array(n * v);
  for (let i = 0; i < n; i++) {
    const c = targets[i] as number;
    if (!(c >= 0 && c < v)) throw new RangeError(`maskedCrossEntropy: target ${c} of row ${i} is outside [0, ${v})`);
    onehot[i * v + c] = 1;
  }
  return softCrossEntropy(logits, tf.tensor2d(onehot, [n, v]), weights);
}

/**
 * Rows of a flattened [R, D] tensor picked by index, as a product with a constant 0/1 selection
 * matrix [M, R]. A product instead of tf.gather because gather's gradient needs
 * UnsortedSegmentSum, which the wasm backend lacks — and the product is the fast path there.
 */
export function selectRows(x: tf.Tensor2D, rows: ArrayLike<number>): tf.Tensor2D {
  const r = x.shape[0];
  const m = rows.length;
  const sel = new Float32Array(m * r);
  for (let i = 0; i < m; i++) {
    const k = rows[i] as number;
    if (!(k >= 0 && k < r)) throw new RangeError(`selectRows: row ${k} is outside [0, ${r})`);
    sel[i * r + k] = 1;
  }
  return matMul(tf.tensor2d(sel, [m, r]), x);
}
