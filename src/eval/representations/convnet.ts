/**
 * A small log-mel convnet for the baseline representations (the transfer-learning convnet of Choi
 * et al. and its multi-task variant), with a hand-written backward pass.
 *
 * Why by hand: on the wasm backend tf.conv2d's filter gradient (Conv2DBackpropFilter) does not
 * exist and Conv2DBackpropInput is ~15x slower than a forward conv (measured, [32,48,32,32]
 * 3x3x32: forward 36 ms, conv2dTranspose 600 ms). Both gradients are therefore written as forward
 * convolutions, which run on XNNPACK:
 *   dx = conv(dy, W flipped in space, in/out swapped)                        ~ forward cost
 *   dW = conv(x with batch and channels swapped, dy as a [H,W,B,Cout] filter) ~60 ms, vs 300–450 ms
 *        for im2col + matmul (the concat and transpose dominate).
 * With no autograd tape in the loop, a training step is forward + backward, nothing hidden.
 *
 * Layout: input [B, T, F, 1] (T frames, F mel bands); block i = 3x3 conv (same) + bias → ELU →
 * max-pool; every block's output is also global-average-pooled to [B, C] (the per-layer features);
 * heads read the last block's pooled vector, through an optional hidden dense layer (ELU).
 */
import { tf } from '../../tensor/backend.js';
import { Rng } from '../../util/rng.js';

type T4 = tf.Tensor4D;
type T2 = tf.Tensor2D;

export interface HeadSpec {
  name: string;
  kind: 'sigmoid' | 'softmax';
  size: number;
}

export interface ConvNetConfig {
  /** Output channels of each conv block. */
  channels: number[];
  /** Max-pool window (= stride) after each block, [time, freq]; [1, 1] for none. */
  pools: Array<[number, number]>;
  /** Width of the dense layer between the pooled last block and the heads; 0 for none. */
  hidden: number;
  heads: HeadSpec[];
}

/** Choi et al.'s transfer convnet, sized for 96x64 VGGish patches: 5 blocks of 32 channels. */
export function choiConfig(heads: HeadSpec[], hidden = 0): ConvNetConfig {
  return { channels: [32, 32, 32, 32, 32], pools: [[2, 2], [2, 2], [2, 2], [2, 2], [1, 1]], hidden, heads };
}

export type Params = Map<string, tf.Variable>;

/** What forward keeps for backward. */
interface Tape {
  inputs: T4[]; // block inputs
  acts: T4[]; // ELU outputs (pre-pool)
  outs: T4[]; // block outputs (post-pool)
  last: T2; // pooled last block [B, C]
  hiddenAct?: T2; // [B, hidden]
}

export interface ForwardResult {
  /** Logits per head, [B, size]. */
  logits: Record<string, T2>;
  /** Global-average-pooled output of every block, [B, C_i]. */
  layerFeatures: T2[];
  /** The hidden dense layer's activations, when the config has one. */
  hidden?: T2;
  tape: Tape;
}

export class ConvNet {
  private constructor(
    readonly config: ConvNetConfig,
    readonly params: Params,
  ) {}

  /** He-normal conv/dense weights and zero biases, drawn from `seed`. */
  static create(config: ConvNetConfig, seed: number): ConvNet {
    if (config.channels.length !== config.pools.length) throw new RangeError('ConvNetConfig: channels and pools differ in length');
    const rng = new Rng(seed);
    const params: Params = new Map();
    const normal = (shape: number[], std: number): tf.Variable => {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = rng.normal(0, std);
      return owned(tf.tensor(v, shape));
    };
    const zeros = (n: number): tf.Variable => owned(tf.zeros([n]));
    let cin = 1;
    config.channels.forEach((c, i) => {
      params.set(`conv${i}.w`, normal([3, 3, cin, c], Math.sqrt(2 / (9 * cin))));
      params.set(`conv${i}.b`, zeros(c));
      cin = c;
    });
    if (config.hidden > 0) {
      params.set('hidden.w', normal([cin, config.hidden], Math.sqrt(2 / cin)));
      params.set('hidden.b', zeros(config.hidden));
      cin = config.hidden;
    }
    for (const h of config.heads) {
      params.set(`head.${h.name}.w`, normal([cin, h.size], Math.sqrt(1 / cin)));
      params.set(`head.${h.name}.b`, zeros(h.size));
    }
    return new ConvNet(config, params);
  }

  /** Restore from named arrays (e.g. a cache). */
  static fromArrays(config: ConvNetConfig, arrays: Record<string, { shape: number[]; data: Float32Array }>): ConvNet {
    const probe = ConvNet.create(config, 0);
    for (const [name, v] of probe.params) {
      const a = arrays[name];
      if (!a || a.shape.join() !== v.shape.join()) throw new RangeError(`ConvNet.fromArrays: missing or misshaped "${name}"`);
      tf.tidy(() => v.assign(tf.tensor(a.data, a.shape)));
    }
    return probe;
  }

  toArrays(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, v] of this.params) out[name] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
    return out;
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`ConvNet: no parameter ${name}`);
    return v;
  }

  /** x [B, T, F, 1] → logits and features. Call inside tf.tidy. */
  forward(x: T4): ForwardResult {
    const tape: Tape = { inputs: [], acts: [], outs: [], last: undefined as unknown as T2 };
    const layerFeatures: T2[] = [];
    let h = x;
    this.config.channels.forEach((_, i) => {
      tape.inputs.push(h);
      const z = tf.add(tf.conv2d(h, this.p(`conv${i}.w`) as tf.Tensor4D, 1, 'same'), this.p(`conv${i}.b`)) as T4;
      const a = tf.elu(z); // [B, T_i, F_i, C_i]
      tape.acts.push(a);
      const [pt, pf] = this.config.pools[i] as [number, number];
      h = pt * pf > 1 ? tf.maxPool(a, [pt, pf], [pt, pf], 'valid') : a;
      tape.outs.push(h);
      layerFeatures.push(tf.mean(h, [1, 2]) as T2); // [B, C_i]
    });
    tape.last = layerFeatures[layerFeatures.length - 1] as T2;
    let top = tape.last;
    let hidden: T2 | undefined;
    if (this.config.hidden > 0) {
      hidden = tf.elu(tf.add(tf.matMul(top, this.p('hidden.w') as T2), this.p('hidden.b'))) as T2;
      tape.hiddenAct = hidden;
      top = hidden;
    }
    const logits: Record<string, T2> = {};
    for (const hd of this.config.heads) logits[hd.name] = tf.add(tf.matMul(top, this.p(`head.${hd.name}.w`) as T2), this.p(`head.${hd.name}.b`)) as T2;
    return hidden ? { logits, layerFeatures, hidden, tape } : { logits, layerFeatures, tape };
  }

  /** Gradients of a loss w.r.t. every parameter, given dLoss/dlogits per head. Call inside tf.tidy. */
  backward(tape: Tape, dLogits: Record<string, T2>): Map<string, tf.Tensor> {
    const grads = new Map<string, tf.Tensor>();
    const top = tape.hiddenAct ?? tape.last; // [B, D]
    const topT = tf.transpose(top); // explicit transpose: plain products are the fast path on wasm
    let dTop: T2 | undefined;
    for (const hd of this.config.heads) {
      const dy = dLogits[hd.name];
      if (!dy) continue;
      const w = this.p(`head.${hd.name}.w`) as T2;
      grads.set(`head.${hd.name}.w`, tf.matMul(topT, dy));
      grads.set(`head.${hd.name}.b`, tf.sum(dy, 0));
      const dx = tf.matMul(dy, tf.transpose(w)) as T2;
      dTop = dTop ? (tf.add(dTop, dx) as T2) : dx;
    }
    if (!dTop) throw new RangeError('ConvNet.backward: no head gradient given');
    let dLast = dTop;
    if (tape.hiddenAct) {
      const dz = eluGrad(dTop, tape.hiddenAct) as T2;
      grads.set('hidden.w', tf.matMul(tf.transpose(tape.last), dz));
      grads.set('hidden.b', tf.sum(dz, 0));
      dLast = tf.matMul(dz, tf.transpose(this.p('hidden.w') as T2));
    }
    // Global average pool of the last block: spread evenly over its T×F cells.
    const lastOut = tape.outs[tape.outs.length - 1] as T4;
    const [b, t, f, c] = lastOut.shape;
    let dh = tf.mul(tf.broadcastTo(tf.reshape(dLast, [b, 1, 1, c]), [b, t, f, c]), 1 / (t * f)) as T4;
    for (let i = this.config.channels.length - 1; i >= 0; i--) {
      const [pt, pf] = this.config.pools[i] as [number, number];
      const act = tape.acts[i] as T4;
      const da = pt * pf > 1 ? maxPoolGrad(dh, act, tape.outs[i] as T4, [pt, pf]) : dh;
      const dz = eluGrad(da, act) as T4;
      const xin = tape.inputs[i] as T4;
      grads.set(`conv${i}.w`, convFilterGrad(xin, dz));
      grads.set(`conv${i}.b`, tf.sum(dz, [0, 1, 2]));
      if (i > 0) dh = convInputGrad(dz, this.p(`conv${i}.w`) as T4);
    }
    return grads;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** A variable holding `t`'s values; `t` itself is released. */
function owned(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

function eluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel('EluGrad', { dy, y }, {}) as tf.Tensor;
}

/**
 * Gradient of a non-overlapping max-pool (window = stride), from elementwise ops: each window's
 * gradient goes to the cell(s) equal to its max, split evenly over ties. Not the MaxPoolGrad
 * kernel: on the wasm backend it routes some windows' gradient to the wrong cell (measured:
 * 14 of 288 cells wrong on [3,8,6,2], while the cpu backend agrees with brute force).
 */
function maxPoolGrad(dy: T4, input: T4, output: T4, win: [number, number]): T4 {
  const [, t, f] = input.shape;
  const [pt, pf] = win;
  // Nearest-neighbour resize by an integer factor repeats each cell over its window; it is ~40x
  // faster on wasm than the equivalent 6-D tile (measured 17 vs 700 ms on [32,48,32,32]).
  const up = (v: T4): T4 => tf.image.resizeNearestNeighbor(v, [t, f], false, false);
  const hit = tf.cast(tf.equal(input, up(output)), 'float32') as T4; // [B, T, F, C]
  const count = tf.mul(tf.avgPool(hit, [pt, pf], [pt, pf], 'valid'), pt * pf); // hits per window
  return tf.mul(hit, up(tf.div(dy, count) as T4)) as T4;
}

/** dL/dx of a 3x3 'same' conv: a forward conv of dy with the filter flipped in space and its channel axes swapped. */
export function convInputGrad(dy: T4, w: T4): T4 {
  const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as T4; // [3, 3, Cout, Cin]
  return tf.conv2d(dy, wf, 1, 'same');
}

/**
 * dL/dW of a 3x3 'same' conv: dW[i,j,ci,co] = Σ_{b,t,f} xpad[b,t+i,f+j,ci] · dy[b,t,f,co], which
 * is a 'valid' forward conv of xpad laid out [Cin, T+2, F+2, B] with dy laid out [T, F, B, Cout]
 * as the filter (batch plays the role of input channels).
 */
export function convFilterGrad(x: T4, dy: T4): T4 {
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const xin = tf.transpose(xp, [3, 1, 2, 0]) as T4; // [Cin, T+2, F+2, B]
  const filt = tf.transpose(dy, [1, 2, 0, 3]) as T4; // [T, F, B, Cout]
  const g = tf.conv2d(xin, filt, 1, 'valid'); // [Cin, 3, 3, Cout]
  return tf.transpose(g, [1, 2, 0, 3]) as T4; // [3, 3, Cin, Cout]
}
