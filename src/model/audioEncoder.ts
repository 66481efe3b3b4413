/**
 * AudioEncoder: a VGGish-style network from one log-mel patch [96 frames, 64 bands] to one
 * embedding vector (128-d by default), plus a multi-label concept head used to pre-train it on
 * tags, as VGGish was pre-trained on AudioSet-style labels.
 *
 *   [N,96,64,1] → (3x3 conv + ReLU)×k, 2x2 max-pool after each run of equal widths
 *               → flatten → (dense + ReLU)×m → dense (linear) → [N, embedDim]
 *
 * With the VGGish preset (config.ts `vggishConfig`) this is the published layout: conv 64 | pool |
 * 128 | pool | 256,256 | pool | 512,512 | pool → 6x4x512 → 4096 → 4096 → 128. The default is
 * narrower so it trains on a CPU in minutes. No batch-norm or dropout (VGGish has none), so the
 * same forward pass serves training and inference.
 */
import { tf } from '../tensor/backend.js';
import { conv3x3Relu, linear, maxPool2x2 } from '../tensor/ops.js';
import { poolsAfter, type AudioEncoderConfig } from './config.js';
import { loadCheckpointOf, saveCheckpoint, type TrainingState } from './checkpoint.js';
import { convStackSpecs, disposeParams, initParams, paramsFromWeights, zerosSpec, type ParamSpecs, type Params } from './params.js';
import { UsageError } from '../util/errors.js';

/** Patches per encoder pass when embedding (the last block is zero-padded to this size, see embedPatches). */
export const PATCH_BATCH = 16;

/** Spatial size after the conv stack: 96x64 halved once per pool. */
export function featureShape(c: AudioEncoderConfig): [number, number, number] {
  let h: number = c.patchFrames;
  let w: number = c.melBands;
  for (const p of poolsAfter(c.channels)) if (p) [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
  return [h, w, c.channels[c.channels.length - 1] as number];
}

/** He-normal init for ReLU layers, Glorot for the linear embedding and concept layers. */
export function audioEncoderSpecs(c: AudioEncoderConfig): ParamSpecs {
  const specs = convStackSpecs(c.channels);
  const zeros = zerosSpec;
  const [fh, fw, fc] = featureShape(c);
  let din = fh * fw * fc;
  c.dense.forEach((dout, j) => {
    specs[`dense.${j}.weight`] = { shape: [din, dout], init: { kind: 'normal', std: Math.sqrt(2 / din) } };
    specs[`dense.${j}.bias`] = zeros(dout);
    din = dout;
  });
  specs['embedding.weight'] = { shape: [din, c.embedDim], init: { kind: 'normal', std: Math.sqrt(2 / (din + c.embedDim)) } };
  specs['embedding.bias'] = zeros(c.embedDim);
  specs['concept.weight'] = { shape: [c.embedDim, c.numConcepts], init: { kind: 'normal', std: Math.sqrt(2 / (c.embedDim + c.numConcepts)) } };
  specs['concept.bias'] = zeros(c.numConcepts);
  return specs;
}

export class AudioEncoder {
  readonly config: AudioEncoderConfig;
  readonly params: Params;

  private constructor(config: AudioEncoderConfig, params: Params) {
    this.config = config;
    this.params = params;
  }

  static create(config: AudioEncoderConfig, seed: number): AudioEncoder {
    return new AudioEncoder(config, initParams(audioEncoderSpecs(config), seed));
  }

  /** Load a checkpoint directory written by `save` (CheckpointError names the file and the problem). */
  static async load(dir: string): Promise<AudioEncoder> {
    const { config, weights, weightsPath } = await loadCheckpointOf(dir, 'audio-encoder');
    return new AudioEncoder(config, paramsFromWeights(audioEncoderSpecs(config), weights, weightsPath));
  }

  /** Write this encoder as a checkpoint directory, atomically; `training` adds the resume state. */
  save(dir: string, training: TrainingState = {}): Promise<void> {
    return saveCheckpoint(dir, { config: this.config, params: this.params, ...training });
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    return this.params[name] as unknown as tf.Tensor<R>;
  }

  /** patches [N,96,64] → embeddings [N,embedDim]. */
  embed(patches: tf.Tensor3D): tf.Tensor2D {
    return this.forward(patches, false).embedding;
  }

  /**
   * patches [N,96,64] → every layer's activations, pooled: each conv layer's ReLU output averaged
   * over time and frequency, then each dense hidden layer's output, concatenated
   * [N, sum(channels) + sum(dense)]. Choi et al. (2017) found such all-layer features transfer
   * better than the last layer alone, which the pre-training objective shapes most.
   */
  layerFeatures(patches: tf.Tensor3D): tf.Tensor2D {
    const { embedding, layers } = this.forward(patches, true);
    const out = tf.concat(layers, 1) as tf.Tensor2D;
    tf.dispose([embedding, ...layers]); // the per-layer tensors were kept out of forward's tidy
    return out;
  }

  /** Width of layerFeatures' rows. */
  get layerFeatureDim(): number {
    return this.config.channels.reduce((a, b) => a + b, 0) + this.config.dense.reduce((a, b) => a + b, 0);
  }

  private forward(patches: tf.Tensor3D, keepLayers: boolean): { embedding: tf.Tensor2D; layers: tf.Tensor2D[] } {
    const c = this.config;
    const [n, frames, bands] = patches.shape;
    if (frames !== c.patchFrames || bands !== c.melBands) {
      throw new UsageError(`AudioEncoder.embed: patches must be [N,${c.patchFrames},${c.melBands}] (got [${patches.shape}])`);
    }
    const layers: tf.Tensor2D[] = [];
    const embedding = tf.tidy(() => {
      let x = tf.reshape(patches, [n, frames, bands, 1]) as tf.Tensor4D; // [N,96,64,1]
      const pools = poolsAfter(c.channels);
      c.channels.forEach((_, i) => {
        x = conv3x3Relu(x, this.p(`conv.${i}.weight`), this.p(`conv.${i}.bias`)); // [N,h,w,C_i]
        if (keepLayers) layers.push(tf.keep(tf.mean(x, [1, 2]) as tf.Tensor2D)); // [N,C_i]
        if (pools[i]) x = maxPool2x2(x); // [N,h/2,w/2,C_i]
      });
      let h = tf.reshape(x, [n, -1]) as tf.Tensor2D; // [N, fh*fw*fc]
      c.dense.forEach((_, j) => {
        h = linear(h, this.p(`dense.${j}.weight`), this.p(`dense.${j}.bias`), 'relu');
        if (keepLayers) layers.push(tf.keep(h)); // [N,dense_j]
      });
      return linear(h, this.p('embedding.weight'), this.p('embedding.bias')); // [N,embedDim]
    });
    return { embedding, layers };
  }

  /** embeddings [N,embedDim] → [N,numConcepts] multi-label logits. */
  conceptLogits(embeddings: tf.Tensor2D): tf.Tensor2D {
    return linear(embeddings, this.p('concept.weight'), this.p('concept.bias'));
  }

  /**
   * Embed `count` patches stored row-major in `patches` ([count,96,64]) → Float32Array [count,embedDim],
   * without gradients, in passes of exactly `batch` patches: the last block is zero-padded, so a
   * kernel does the same arithmetic for a patch whatever else shares its block and the same patch
   * always gives a bit-identical vector (training inputs, Table 1 and search agree).
   */
  async embedPatches(patches: Float32Array, count: number, batch = PATCH_BATCH): Promise<Float32Array> {
    return this.inBlocks(patches, count, batch, this.config.embedDim, (x) => this.embed(x));
  }

  /** layerFeatures for `count` patches, [count, layerFeatureDim], in zero-padded blocks as embedPatches. */
  async layerPatches(patches: Float32Array, count: number, batch = PATCH_BATCH): Promise<Float32Array> {
    return this.inBlocks(patches, count, batch, this.layerFeatureDim, (x) => this.layerFeatures(x));
  }

  private async inBlocks(patches: Float32Array, count: number, batch: number, D: number, f: (x: tf.Tensor3D) => tf.Tensor2D): Promise<Float32Array> {
    const c = this.config;
    const per = c.patchFrames * c.melBands;
    if (!Number.isInteger(count) || count < 0 || patches.length !== count * per) {
      throw new UsageError(`AudioEncoder.embedPatches: expected ${count} x ${c.patchFrames} x ${c.melBands} = ${count * per} values (got ${patches.length})`);
    }
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`AudioEncoder.embedPatches: batch must be a positive integer (got ${batch})`);
    const out = new Float32Array(count * D);
    const block = new Float32Array(batch * per); // [batch, 96, 64]
    for (let start = 0; start < count; start += batch) {
      const m = Math.min(batch, count - start);
      block.fill(0);
      block.set(patches.subarray(start * per, (start + m) * per));
      const emb = tf.tidy(() => f(tf.tensor3d(block, [batch, c.patchFrames, c.melBands])));
      const v = (await emb.data()) as Float32Array;
      emb.dispose();
      out.set(v.subarray(0, m * D), start * D);
    }
    return out;
  }

  dispose(): void {
    disposeParams(this.params);
  }
}
