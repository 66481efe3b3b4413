/** Row 1: MFCC statistics per clip (mean/std of 20 MFCCs and their deltas, 80-d). Deterministic. */
import { mfcc, mfccStats } from '../../audio/index.js';
import type { FeatureMatrix } from '../types.js';
import type { RepContext, Representation } from './types.js';

export const mfccRepresentation: Representation = {
  name: 'mfcc',
  learned: false,
  version: 1,
  settings: () => ({ coeffs: 20 }),
  async compute(ctx: RepContext): Promise<FeatureMatrix> {
    const tracks = ctx.corpus.tracks;
    const dim = 80;
    const data = new Float32Array(tracks.length * dim);
    for (const [i, t] of tracks.entries()) {
      const lm = await ctx.frontend.get(t.audioPath);
      data.set(mfccStats(mfcc(lm.data, lm.frames), lm.frames), i * dim);
      ctx.onProgress?.({ rep: 'mfcc', seed: ctx.seed, stage: 'features', done: i + 1, total: tracks.length });
    }
    return { ids: tracks.map((t) => t.id), dim, data };
  },
};
