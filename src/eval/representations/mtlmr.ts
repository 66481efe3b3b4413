/**
 * Row 3: a multi-task convnet. The same five-block trunk, a shared 128-unit dense layer, and three
 * heads trained jointly on genre-free targets: the concept tags (BCE), a tempo class estimated
 * from the audio itself (slow / moderate / fast, cross-entropy), and the sign of valence and of
 * arousal where the training track has them (BCE, masked elsewhere). Features: the shared dense
 * layer (the penultimate layer), averaged over the track's patches.
 */
import type { FeatureMatrix } from '../types.js';
import { choiConfig, type HeadSpec } from './convnet.js';
import { convSettings, embedTracks, requireTags, tagVocabulary, trainConvRep, type TrackTargets } from './convRep.js';
import { estimateTempo, tempoClass } from '../../audio/tempo.js';
import type { RepContext, Representation } from './types.js';

const HIDDEN = 128;

export const mtlmrRepresentation: Representation = {
  name: 'mtlmr',
  learned: true,
  version: 2, // 2: trained by the shared trainer (train/trainer.ts) on model-layer params
  settings: (ctx) => ({ ...convSettings(ctx), arch: 'choi5x32+fc128', moodTargets: ctx.allowLabelTargets }),
  async compute(ctx: RepContext): Promise<FeatureMatrix> {
    const vocab = tagVocabulary(ctx.trainCorpus.tracks, convSettings(ctx).maxTags);
    requireTags('mtlmr', vocab);
    const index = new Map(vocab.map((t, i) => [t, i] as const));
    const useMood = ctx.allowLabelTargets && ctx.trainCorpus.tracks.some((t) => Number.isFinite(t.valence) || Number.isFinite(t.arousal));
    const heads: HeadSpec[] = [
      { name: 'tags', kind: 'sigmoid', size: vocab.length },
      { name: 'tempo', kind: 'softmax', size: 3 },
    ];
    if (useMood) heads.push({ name: 'mood', kind: 'sigmoid', size: 2 });
    const { net, norm } = await trainConvRep(ctx, 'mtlmr', choiConfig(heads, HIDDEN), (t, lm) => {
      const tags = new Float32Array(vocab.length);
      for (const tag of t.tags) {
        const j = index.get(tag);
        if (j !== undefined) tags[j] = 1;
      }
      const out: TrackTargets = { tags: { y: tags, mask: 1 } };
      const bpm = estimateTempo(lm);
      const tempo = new Float32Array(3);
      if (bpm !== undefined) tempo[tempoClass(bpm)] = 1;
      out.tempo = { y: tempo, mask: bpm === undefined ? 0 : 1 };
      if (useMood) {
        // Both signs share one mask: a track with only one of the two is rare (Deezer has both).
        const v = t.valence;
        const a = t.arousal;
        const has = Number.isFinite(v) && Number.isFinite(a);
        out.mood = { y: [has && (v as number) > 0 ? 1 : 0, has && (a as number) > 0 ? 1 : 0], mask: has ? 1 : 0 };
      }
      return out;
    });
    try {
      return await embedTracks(ctx, 'mtlmr', net, norm, (f) => {
        if (!f.hidden) throw new Error('mtlmr network has no hidden layer');
        return f.hidden;
      });
    } finally {
      net.dispose();
    }
  },
};
