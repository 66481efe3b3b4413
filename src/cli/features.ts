/** `musicbert features`: the front end's output for one audio file, as raw float32 for other tools. */
import { endianness } from 'node:os';
import { HOP, MEL_BANDS, MFCC_COEFFS, PATCH_FRAMES, SAMPLE_RATE, WINDOW } from '../audio/constants.js';
import { mfcc } from '../audio/mfcc.js';
import { toPatches } from '../audio/patches.js';
import { logMelFromFile } from '../audio/stream.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { opt, parseOptions, type Command } from './command.js';

const KINDS = ['logmel', 'mfcc', 'patches'] as const;
type Kind = (typeof KINDS)[number];

const usage = `usage: musicbert features <audio> --kind logmel|mfcc|patches --out FILE [--json] [--quiet]

Decode <audio> (WAV, MP3, FLAC, Ogg Vorbis; any length, streamed), downmix, resample to
${SAMPLE_RATE} Hz and write VGGish features as raw little-endian float32, row-major:
  logmel   [frames, ${MEL_BANDS}]   log(mel + 0.01), ${WINDOW}-sample window, hop ${HOP}
  mfcc     [frames, ${MFCC_COEFFS}]   orthonormal DCT-II of each log-mel frame
  patches  [n, ${PATCH_FRAMES}, ${MEL_BANDS}] non-overlapping 0.96 s patches (a trailing partial patch is dropped)
Prints {"shape":[...]} on stdout; --json adds kind, frames, seconds and the output path.
Progress goes to stderr unless --quiet.`;

/** Raw little-endian bytes of a float32 array (a view on little-endian hosts, a swapped copy otherwise). */
function littleEndianBytes(x: Float32Array): Uint8Array {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (endianness() === 'LE') return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3] as number;
    out[i + 1] = bytes[i + 2] as number;
    out[i + 2] = bytes[i + 1] as number;
    out[i + 3] = bytes[i] as number;
  }
  return out;
}

export const featuresCommand: Command = {
  name: 'features',
  summary: 'write log-mel, MFCC or patch features of an audio file as raw float32',
  usage,
  async run(argv) {
    const args = parseOptions(argv, { kind: opt.string({ choices: KINDS, default: 'logmel' }), out: opt.string({ required: true, meta: 'FILE' }), json: opt.flag(), quiet: opt.flag() }, usage, {});
    if (args.positionals.length !== 1) throw new UsageError(`expected one audio file, got ${args.positionals.length}\n\n${usage}`);
    const input = args.positionals[0] as string;
    const { kind, out } = args.values;

    const progress = new Progress({ label: `features ${input} (audio s)`, quiet: args.values.quiet });
    let seconds = 0;
    const { data: logmel, frames } = await logMelFromFile(input, {
      onProgress: (s) => {
        progress.set(Math.round(s));
        seconds = s;
      },
    });
    progress.finish(`${frames} frames`);

    let data: Float32Array;
    let shape: number[];
    switch (kind as Kind) {
      case 'logmel':
        data = logmel;
        shape = [frames, MEL_BANDS];
        break;
      case 'mfcc':
        data = mfcc(logmel, frames, MFCC_COEFFS);
        shape = [frames, MFCC_COEFFS];
        break;
      case 'patches': {
        const p = toPatches(logmel, frames);
        data = p.data;
        shape = [p.count, PATCH_FRAMES, MEL_BANDS];
        break;
      }
    }
    await writeFileAtomic(out, littleEndianBytes(data));
    const report = args.values.json ? { shape, kind, frames, seconds: Number(seconds.toFixed(3)), out } : { shape };
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  },
};
