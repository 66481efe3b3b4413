/**
 * The second level for long audio. A track yields one encoder vector per 0.96 s patch, far more
 * than MusicBert's music positions (`maxMusicLen`), so consecutive patch vectors are mean-pooled
 * into at most `maxSegments` segments: k = ceil(P / maxSegments) patches per segment (the last
 * one may be shorter), strided without overlap.
 *
 * Why a parameter-free mean rather than a learned pooler: the pooled vectors stay in the frozen
 * encoder's own 128-d space (a mean of encoder outputs is a point of that space's convex hull), so
 * the music-MLM target "reconstruct the masked input vector" and the InfoNCE candidates are well
 * defined and cannot collapse by co-adapting a pooler with the Transformer. Short tracks
 * (P <= maxSegments) pass through unchanged (k = 1).
 */
import { UsageError } from '../util/errors.js';

export function toSegments(
  vectors: Float32Array, // [P, dim], row-major
  count: number, // P
  maxSegments: number,
): { data: Float32Array /* [S, dim] */; count: number /* S */ } {
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`toSegments: count must be a non-negative integer (got ${count})`);
  if (!Number.isInteger(maxSegments) || maxSegments < 1) throw new UsageError(`toSegments: maxSegments must be a positive integer (got ${maxSegments})`);
  if (count === 0) {
    if (vectors.length !== 0) throw new UsageError(`toSegments: count is 0 but ${vectors.length} values were given`);
    return { data: new Float32Array(0), count: 0 };
  }
  const dim = vectors.length / count;
  if (!Number.isInteger(dim) || dim < 1) {
    throw new UsageError(`toSegments: ${vectors.length} values do not split into ${count} equal vectors`);
  }
  const k = Math.ceil(count / maxSegments);
  const segments = Math.ceil(count / k);
  const out = new Float32Array(segments * dim);
  // Accumulate in float64 so long segments do not lose precision before the division.
  const acc = new Float64Array(dim);
  for (let s = 0; s < segments; s++) {
    const begin = s * k;
    const end = Math.min(begin + k, count);
    acc.fill(0);
    for (let p = begin; p < end; p++) {
      const row = p * dim;
      for (let j = 0; j < dim; j++) acc[j] += vectors[row + j];
    }
    const inv = 1 / (end - begin);
    const o = s * dim;
    for (let j = 0; j < dim; j++) out[o + j] = acc[j] * inv;
  }
  return { data: out, count: segments };
}
