/**
 * Row 2: the transfer-learning convnet of Choi et al. ("Transfer learning for music classification
 * and regression tasks", 2017): five 3x3 conv blocks of 32 channels trained to predict multi-label
 * tags (binary cross-entropy); the features are every block's output, global-average-pooled and
 * concatenated (5 x 32 = 160-d), averaged over the track's patches.
 */
import { tf } from '../../tensor/backend.js';
import type { FeatureMatrix } from '../types.js';
import { choiConfig } from './convnet.js';
import { convSettings, embedTracks, requireTags, tagVocabulary, trainConvRep } from './convRep.js';
import type { RepContext, Representation } from './types.js';

export const tlmRepresentation: Representation = {
  name: 'tlm',
  learned: true,
  version: 2, // 2: trained by the shared trainer (train/trainer.ts) on model-layer params
  settings: (ctx) => ({ ...convSettings(ctx), arch: 'choi5x32' }),
  async compute(ctx: RepContext): Promise<FeatureMatrix> {
    const vocab = tagVocabulary(ctx.trainCorpus.tracks, convSettings(ctx).maxTags);
    requireTags('tlm', vocab);
    const index = new Map(vocab.map((t, i) => [t, i] as const));
    const config = choiConfig([{ name: 'tags', kind: 'sigmoid', size: vocab.length }]);
    const { net, norm } = await trainConvRep(ctx, 'tlm', config, (t) => {
      const y = new Float32Array(vocab.length);
      for (const tag of t.tags) {
        const j = index.get(tag);
        if (j !== undefined) y[j] = 1;
      }
      return { tags: { y, mask: 1 } };
    });
    try {
      return await embedTracks(ctx, 'tlm', net, norm, (f) => tf.concat(f.layerFeatures, 1) as tf.Tensor2D);
    } finally {
      net.dispose();
    }
  },
};
