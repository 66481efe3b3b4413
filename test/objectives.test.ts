import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ready } from '../src/tensor/backend.js';
import {
  bceWithLogits,
  infoNce,
  maskedCrossEntropy,
  maskedRegression,
  pairTargets,
  selectRows,
  symmetricInfoNce,
} from '../src/train/objectives.js';
import { maskMusic, maskTokens } from '../src/train/masking.js';
import { cropTokens } from '../src/train/musicbertLoss.js';
import { Rng } from '../src/util/rng.js';

before(async () => {
  await ready();
});

const val = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] as number;
  return v;
};
const close = (a: number, b: number, tol = 1e-5, msg = ''): void => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);
const lse = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

test('maskedRegression: MSE and smooth-L1 over selected positions only', () => {
  tf.tidy(() => {
    const pred = tf.tensor2d([[1, 2], [3, 4], [9, 9]]);
    const target = tf.tensor2d([[0, 0], [3, 5], [0, 0]]);
    // per-position MSE: 2.5, 0.5, 81
    close(val(maskedRegression(pred, target, tf.tensor1d([1, 1, 0]))), 1.5);
    close(val(maskedRegression(pred, target, tf.tensor1d([0, 1, 0]))), 0.5);
    close(val(maskedRegression(pred, target, tf.tensor1d([0, 0, 0]))), 0, 0, 'nothing selected gives 0, not NaN');
    // smooth-L1 (β=1): diffs [1,2] → 0.5,1.5 → 1.0 ; [0,-1] → 0,0.5 → 0.25
    close(val(maskedRegression(pred, target, tf.tensor1d([1, 1, 0]), 'smooth-l1')), 0.625);
    // below β it is 0.5·d²/β: d = 0.5, β = 1 → 0.125
    close(val(maskedRegression(tf.tensor2d([[0.5]]), tf.tensor2d([[0]]), tf.tensor1d([1]), 'smooth-l1')), 0.125);
    // [B, S, D] with [B, S] weights
    const p3 = tf.tensor3d([[[1, 1], [2, 2]]]);
    const t3 = tf.zeros([1, 2, 2]);
    close(val(maskedRegression(p3, t3, tf.tensor2d([[0, 1]]))), 4);
  });
});

test('infoNce on 3 keys matches the hand computation', () => {
  tf.tidy(() => {
    const q = tf.tensor2d([[2, 0]]); // normalised to [1, 0]
    const k = tf.tensor2d([[1, 0], [0, 3], [-1, 0]]); // cosines 1, 0, -1
    const tau = 0.5;
    const expected = -(2 - lse([2, 0, -2]));
    close(val(infoNce(q, k, [0], tau)), expected);
    // positive at key 1: −(0 − lse)
    close(val(infoNce(q, k, [1], tau)), -(0 - lse([2, 0, -2])));
    // two queries average
    const q2 = tf.tensor2d([[2, 0], [0, 1]]);
    const e2 = -(0 - lse([0, 2, 0]));
    close(val(infoNce(q2, k, [0, 0], tau)), (expected + e2) / 2);
    assert.throws(() => infoNce(q, k, [3], tau), RangeError);
    assert.throws(() => infoNce(q, k, [0, 1], tau), RangeError);
  });
});

test('infoNce gradient matches central differences', () => {
  const rng = new Rng(3);
  const qv = Array.from({ length: 6 }, () => rng.normal());
  const kv = Array.from({ length: 8 }, () => rng.normal());
  const f = (q: tf.Tensor): tf.Scalar => infoNce(q as tf.Tensor2D, tf.tensor2d(kv, [4, 2]), [1, 3, 0], 0.3);
  const g = tf.tidy(() => tf.grad(f)(tf.tensor2d(qv, [3, 2])).dataSync());
  const h = 1e-2;
  for (let i = 0; i < qv.length; i++) {
    const plus = qv.slice(), minus = qv.slice();
    plus[i]! += h;
    minus[i]! -= h;
    const fd = tf.tidy(() => (val(f(tf.tensor2d(plus, [3, 2]))) - val(f(tf.tensor2d(minus, [3, 2])))) / (2 * h));
    close(g[i] as number, fd, 2e-3, `d/dq[${i}]`);
  }
});

test('symmetricInfoNce: identity pairs, and shared groups spread the target', () => {
  tf.tidy(() => {
    const a = tf.tensor2d([[1, 0], [0, 1]]);
    const one = -(1 - lse([1, 0]));
    close(val(symmetricInfoNce(a, a, 1)), one);
    // same group: target 0.5/0.5 → −½(log p(1) + log p(0))
    const both = -0.5 * (1 - lse([1, 0]) + (0 - lse([1, 0])));
    close(val(symmetricInfoNce(a, a, 1, [7, 7])), both);
    // asymmetric case: a→b and b→a differ, the loss is their mean
    const b = tf.tensor2d([[1, 0], [1, 0]]);
    // logits a·bᵀ = [[1,1],[0,0]]; rows: CE = log 2 each. columns (bᵀ·a): [[1,0],[1,0]]: −(1−lse) and −(0−lse)
    const ab = Math.log(2);
    const ba = (-(1 - lse([1, 0])) - (0 - lse([1, 0]))) / 2;
    close(val(symmetricInfoNce(a, b, 1)), (ab + ba) / 2);
  });
  assert.deepEqual(Array.from(pairTargets(3, [1, 2, 1])), [0.5, 0, 0.5, 0, 1, 0, 0.5, 0, 0.5]);
});

test('bceWithLogits matches −[z log σ(x) + (1−z) log(1−σ(x))], weighted too', () => {
  tf.tidy(() => {
    const x = [0, 2, -1, 30];
    const z = [1, 0, 1, 1];
    const ref = x.map((xi, i) => {
      const s = 1 / (1 + Math.exp(-xi));
      return -(z[i]! * Math.log(s) + (1 - z[i]!) * Math.log(1 - s + 1e-300));
    });
    close(val(bceWithLogits(tf.tensor1d(x), tf.tensor1d(z))), ref.reduce((a, b) => a + b) / 4);
    // weights: only the first two elements
    close(val(bceWithLogits(tf.tensor1d(x), tf.tensor1d(z), tf.tensor1d([1, 1, 0, 0]))), (ref[0]! + ref[1]!) / 2);
    // a [B, C] logit matrix with per-row weights broadcast over classes
    const l2 = tf.tensor2d([[0, 2], [-1, 30]]);
    const z2 = tf.tensor2d([[1, 0], [1, 1]]);
    close(val(bceWithLogits(l2, z2, tf.tensor2d([[1], [0]]))), (ref[0]! + ref[1]!) / 2);
    // stable for large |x|
    assert.ok(Number.isFinite(val(bceWithLogits(tf.tensor1d([-200, 200]), tf.tensor1d([1, 0])))));
  });
});

test('maskedCrossEntropy against log-softmax by hand, weights ignore rows', () => {
  tf.tidy(() => {
    const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
    const r0 = -(3 - lse([1, 2, 3]));
    const r1 = Math.log(3);
    close(val(maskedCrossEntropy(logits, [2, 0])), (r0 + r1) / 2);
    close(val(maskedCrossEntropy(logits, [2, 0], tf.tensor1d([0, 1]))), r1);
    assert.throws(() => maskedCrossEntropy(logits, [3, 0]), RangeError);
  });
});

test('selectRows picks rows and passes gradients back to them only', () => {
  const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const picked = tf.tidy(() => selectRows(x, [2, 0]).arraySync());
  assert.deepEqual(picked, [[5, 6], [1, 2]]);
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(selectRows(t as tf.Tensor2D, [2, 2])))(x).arraySync());
  assert.deepEqual(g, [[0, 0], [0, 0], [2, 2]]);
  x.dispose();
});

test('maskMusic: 15% of real positions, 80/10/10 split, padding untouched, deterministic', () => {
  const B = 4, S = 2500, D = 2;
  const music = new Float32Array(B * S * D);
  for (let i = 0; i < music.length; i++) music[i] = i; // every vector distinct
  const real = new Float32Array(B * S).fill(1);
  for (let s = 2000; s < S; s++) real[3 * S + s] = 0; // row 3 padded after 2000
  const m = maskMusic(music, real, B, S, D, new Rng(11));
  const nReal = real.reduce((a, b) => a + b);
  let sel = 0, flagged = 0, swapped = 0, kept = 0;
  for (let i = 0; i < B * S; i++) {
    if (m.selected[i]) {
      sel++;
      assert.equal(real[i], 1, 'padding is never selected');
      const same = m.input[i * D] === music[i * D] && m.input[i * D + 1] === music[i * D + 1];
      if (m.maskFlags[i]) flagged++;
      else if (same) kept++;
      else swapped++;
    } else {
      assert.equal(m.maskFlags[i], 0);
      assert.equal(m.input[i * D], music[i * D], 'unselected input unchanged');
    }
  }
  assert.equal(m.selectedIndex.length, sel);
  assert.ok(Math.abs(sel / nReal - 0.15) < 0.01, `selected ${sel / nReal}`);
  assert.ok(Math.abs(flagged / sel - 0.8) < 0.03, `mask ${flagged / sel}`);
  assert.ok(Math.abs(swapped / sel - 0.1) < 0.03, `random ${swapped / sel}`);
  assert.ok(Math.abs(kept / sel - 0.1) < 0.03, `kept ${kept / sel}`);
  const again = maskMusic(music, real, B, S, D, new Rng(11));
  assert.deepEqual(again.selectedIndex, m.selectedIndex);
  assert.deepEqual(again.input, m.input);
  assert.notDeepEqual(maskMusic(music, real, B, S, D, new Rng(12)).selectedIndex, m.selectedIndex);
  // short rows still get one prediction; a single real position is left alone
  const short = maskMusic(new Float32Array(2 * 3 * 1), Float32Array.from([1, 1, 0, 1, 0, 0]), 2, 3, 1, new Rng(1));
  const perRow = [0, 0];
  for (const i of short.selectedIndex) perRow[Math.floor(i / 3)]!++;
  assert.ok(perRow[0]! >= 1);
  assert.equal(perRow[1], 0);
});

test('maskTokens: pads/specials never selected nor inserted, targets are the originals', () => {
  const B = 2, L = 3000;
  const rng = new Rng(5);
  const ids = new Int32Array(B * L);
  for (let i = 0; i < ids.length; i++) ids[i] = i % L < 2500 ? rng.int(5, 49) : 0;
  ids[7] = 1; // an [UNK]
  const vocab = { size: 50, maskId: 4, unkId: 1, special: [0, 1, 2, 3, 4] };
  const m = maskTokens(ids, B, L, vocab, new Rng(9));
  const nReal = 2 * 2500 - 1;
  assert.ok(Math.abs(m.selectedIndex.length / nReal - 0.15) < 0.01);
  let masked = 0, random = 0;
  m.selectedIndex.forEach((i, k) => {
    assert.notEqual(ids[i], 0);
    assert.notEqual(i, 7);
    assert.equal(m.targets[k], ids[i]);
    if (m.input[i] === 4) masked++;
    else if (m.input[i] !== ids[i]) random++;
  });
  for (let i = 0; i < ids.length; i++) {
    if (m.input[i] !== ids[i]) assert.ok(m.input[i] === 4 || m.input[i]! >= 5, 'random replacements are ordinary tokens');
  }
  assert.ok(Math.abs(masked / m.targets.length - 0.8) < 0.03);
  assert.ok(random / m.targets.length > 0.06 && random / m.targets.length < 0.12);
  assert.deepEqual(maskTokens(ids, B, L, vocab, new Rng(9)).input, m.input);
});

test('text views: random windows, and whole single sentences when the sentence end is known', () => {
  const DOT = 9;
  // Three sentences: [5 6 .] [7 8 8 8 .] [10 11]
  const ids = new Int32Array([5, 6, DOT, 7, 8, 8, 8, DOT, 10, 11]);
  const rng = new Rng(3);
  const seen = new Set<string>();
  for (let k = 0; k < 200; k++) {
    const v = cropTokens(ids, 4, rng, DOT, 1);
    const kept = [...v].filter((x) => x !== 0);
    seen.add(kept.join(' '));
    // One sentence from its first token, cut at the window length, zero-padded.
    assert.ok(['5 6 9', '7 8 8 8', '10 11'].includes(kept.join(' ')), kept.join(' '));
  }
  assert.equal(seen.size, 3, 'every sentence is drawn');
  // Without a sentence end: contiguous windows of the full length.
  for (let k = 0; k < 50; k++) {
    const v = [...cropTokens(ids, 4, rng)];
    const start = [...ids].findIndex((_, i) => [...ids.subarray(i, i + 4)].join() === v.join());
    assert.ok(start >= 0 && start <= 6, v.join(' '));
  }
  assert.deepEqual([...cropTokens(new Int32Array([4, 5]), 4, rng)], [4, 5, 0, 0]);
});
