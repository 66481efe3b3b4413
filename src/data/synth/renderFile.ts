/** One unit of work for the pool: render a planned track and write it as a 16-bit WAV, atomically. */
import { writeFileAtomic } from '../../util/atomic.js';
import { encodeWav } from '../../audio/wavWrite.js';
import { renderTrack } from './render.js';
import type { TrackParams } from './types.js';

export interface RenderJob {
  index: number;
  params: TrackParams;
  sampleRate: number;
  seconds: number;
  path: string;
}

export async function renderToFile(job: RenderJob): Promise<void> {
  const samples = renderTrack(job.params, job.sampleRate, job.seconds);
  await writeFileAtomic(job.path, encodeWav([samples], job.sampleRate, 'pcm16'));
}

/** Size of the WAV renderToFile writes, to tell a complete file from a stale one. */
export function expectedWavBytes(seconds: number, sampleRate: number): number {
  return 44 + 2 * Math.max(1, Math.round(seconds * sampleRate));
}
