/**
 * A small log-mel convnet for the baseline representations (the transfer-learning convnet of Choi
 * et al. and its multi-task variant), built like the model layer's networks: a parameter spec
 * (model/params.ts) and a forward pass of tensor/ops.ts layers, so autograd, the trainer and the
 * shared AdamW train it (convRep.ts).
 *
 *   [B,T,F,1] → (3x3 conv + bias → ELU → 2x2 max-pool where the config says)×k
 *             → every block's output global-average-pooled to [B, C_i] (the per-layer features)
 *             → last block's pooled vector [→ dense + ELU] → one linear head per target
 */
import { tf } from '../../tensor/backend.js';
import { conv3x3, linear, maxPool2x2 } from '../../tensor/ops.js';
import { convStackSpecs, disposeParams, initParams, zerosSpec, type ParamSpecs, type Params } from '../../model/params.js';
import { bceWithLogits, softCrossEntropy } from '../../train/objectives.js';
import type { LossOutput } from '../../train/trainer.js';

export interface HeadSpec {
  name: string;
  /** sigmoid: multi-label, binary cross-entropy; softmax: one class, cross-entropy. */
  kind: 'sigmoid' | 'softmax';
  size: number;
}

export interface ConvNetConfig {
  /** Output channels of each conv block. */
  channels: number[];
  /** Whether a 2x2 max-pool follows each block. */
  pools: boolean[];
  /** Width of the dense layer between the pooled last block and the heads; 0 for none. */
  hidden: number;
  heads: HeadSpec[];
}

/** Choi et al.'s transfer convnet, sized for 96x64 VGGish patches: 5 blocks of 32 channels. */
export function choiConfig(heads: HeadSpec[], hidden = 0): ConvNetConfig {
  return { channels: [32, 32, 32, 32, 32], pools: [true, true, true, true, false], hidden, heads };
}

/** He-normal conv/dense weights (ELU), Glorot-like heads, zero biases. */
export function convNetSpecs(c: ConvNetConfig): ParamSpecs {
  if (c.channels.length !== c.pools.length) throw new RangeError('ConvNetConfig: channels and pools differ in length');
  const specs = convStackSpecs(c.channels);
  let cin = c.channels[c.channels.length - 1] ?? 1;
  if (c.hidden > 0) {
    specs['hidden.weight'] = { shape: [cin, c.hidden], init: { kind: 'normal', std: Math.sqrt(2 / cin) } };
    specs['hidden.bias'] = zerosSpec(c.hidden);
    cin = c.hidden;
  }
  for (const h of c.heads) {
    specs[`head.${h.name}.weight`] = { shape: [cin, h.size], init: { kind: 'normal', std: Math.sqrt(1 / cin) } };
    specs[`head.${h.name}.bias`] = zerosSpec(h.size);
  }
  return specs;
}

export interface ConvNetOutput {
  /** Logits per head, [B, size]. */
  logits: Record<string, tf.Tensor2D>;
  /** Global-average-pooled output of every block, [B, C_i]. */
  layerFeatures: tf.Tensor2D[];
  /** The hidden dense layer's activations [B, hidden], when the config has one. */
  hidden?: tf.Tensor2D;
}

/** Targets of one head for a batch: y [B, size] (multi- or one-hot), mask [B] (1 = the row has a label). */
export interface HeadBatch {
  y: tf.Tensor2D;
  mask: tf.Tensor1D;
}

export class ConvNet {
  private constructor(
    readonly config: ConvNetConfig,
    readonly params: Params,
  ) {}

  static create(config: ConvNetConfig, seed: number): ConvNet {
    return new ConvNet(config, initParams(convNetSpecs(config), seed));
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    return this.params[name] as unknown as tf.Tensor<R>;
  }

  /** patches [B, T, F] → logits and features. Differentiable; call inside tf.tidy. */
  forward(patches: tf.Tensor3D): ConvNetOutput {
    const [b, t, f] = patches.shape;
    let h = tf.reshape(patches, [b, t, f, 1]) as tf.Tensor4D;
    const layerFeatures: tf.Tensor2D[] = [];
    this.config.channels.forEach((_, i) => {
      h = conv3x3(h, this.p(`conv.${i}.weight`), this.p(`conv.${i}.bias`), 'elu'); // [B, T_i, F_i, C_i]
      if (this.config.pools[i]) h = maxPool2x2(h); // [B, T_i/2, F_i/2, C_i]
      layerFeatures.push(tf.mean(h, [1, 2]) as tf.Tensor2D); // [B, C_i]
    });
    let top = layerFeatures[layerFeatures.length - 1] as tf.Tensor2D;
    let hidden: tf.Tensor2D | undefined;
    if (this.config.hidden > 0) {
      hidden = tf.elu(linear(top, this.p('hidden.weight'), this.p('hidden.bias'))) as tf.Tensor2D; // [B, hidden]
      top = hidden;
    }
    const logits: Record<string, tf.Tensor2D> = {};
    for (const hd of this.config.heads) logits[hd.name] = linear(top, this.p(`head.${hd.name}.weight`), this.p(`head.${hd.name}.bias`)); // [B, size]
    return hidden ? { logits, layerFeatures, hidden } : { logits, layerFeatures };
  }

  /**
   * Sum over heads of each head's loss, averaged over the rows its mask keeps: sigmoid heads
   * binary cross-entropy (mean over kept rows × classes), softmax heads cross-entropy.
   */
  loss(out: ConvNetOutput, targets: Record<string, HeadBatch>): LossOutput {
    const parts: Record<string, tf.Scalar> = {};
    for (const h of this.config.heads) {
      const z = out.logits[h.name];
      const t = targets[h.name];
      if (!z || !t) continue;
      parts[h.name] = h.kind === 'sigmoid' ? bceWithLogits(z, t.y, tf.reshape(t.mask, [-1, 1])) : softCrossEntropy(z, t.y, t.mask);
    }
    const losses = Object.values(parts);
    if (losses.length === 0) throw new RangeError('ConvNet.loss: no head has targets');
    return { loss: (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar, parts };
  }

  dispose(): void {
    disposeParams(this.params);
  }
}
