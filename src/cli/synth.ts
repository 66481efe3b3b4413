/** `musicbert synth`: generate (or resume generating) the built-in music + review corpus. */
import { availableParallelism } from 'node:os';
import { synthesizeCorpus } from '../data/synth/index.js';
import { UsageError } from '../util/errors.js';
import { numberOption, parseCommandArgs, stringOption, type Command } from './command.js';

const usage = `usage: musicbert synth --out DIR --tracks N --seconds S --seed K
                      [--sample-rate 16000|22050] [--tracks-per-album N] [--workers N] [--json] [--quiet]

Compose and render N tracks of S seconds in the ten GTZAN genres, with valence/arousal, concept
tags and album reviews, written as GTZAN folders (genres/<genre>/<genre>.000NN.wav), Deezer-mood
CSVs (deezer/), MuMu-style albums (mumu/albums.json) and manifest.json. The same options always
give the same bytes. Re-running on an existing directory resumes it (only missing tracks are
rendered); a directory made with other options is refused.

  --sample-rate HZ       16000 (default) or 22050
  --tracks-per-album N   album size (default 5)
  --workers N            render threads (default: one per core, here ${availableParallelism()}); 0 = main thread
  --json                 print the summary as JSON on stdout
Progress goes to stderr unless --quiet.`;

function intOption(args: Parameters<typeof stringOption>[0], name: string, fallback?: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined && fallback === undefined) throw new UsageError(`--${name} is required\n\n${usage}`);
  const v = numberOption(raw, name, fallback as number);
  if (!Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got ${raw}`);
  return v;
}

export const synthCommand: Command = {
  name: 'synth',
  summary: 'generate the built-in corpus: synthesized music in 10 genres, moods, tags and album reviews',
  usage,
  async run(argv) {
    const args = parseCommandArgs(
      argv,
      {
        out: { type: 'string' },
        tracks: { type: 'string' },
        seconds: { type: 'string' },
        seed: { type: 'string' },
        'sample-rate': { type: 'string' },
        'tracks-per-album': { type: 'string' },
        workers: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
      usage,
    );
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n\n${usage}`);
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError(`--out DIR is required\n\n${usage}`);
    const tracks = intOption(args, 'tracks');
    const seed = intOption(args, 'seed');
    const secondsRaw = stringOption(args, 'seconds');
    if (secondsRaw === undefined) throw new UsageError(`--seconds is required\n\n${usage}`);
    const seconds = numberOption(secondsRaw, 'seconds', 0);
    const sampleRate = intOption(args, 'sample-rate', 16000);
    if (sampleRate !== 16000 && sampleRate !== 22050) throw new UsageError(`--sample-rate must be 16000 or 22050, got ${sampleRate}`);
    const tracksPerAlbum = intOption(args, 'tracks-per-album', 5);
    const workers = intOption(args, 'workers', availableParallelism());
    const t0 = Date.now();
    const corpus = await synthesizeCorpus({ out, tracks, seconds, seed, sampleRate, tracksPerAlbum, workers, quiet: args.values.quiet === true });
    const splits = { train: 0, valid: 0, test: 0 };
    for (const t of corpus.tracks) splits[t.split]++;
    const summary = {
      out: corpus.root, tracks: corpus.tracks.length, albums: corpus.albums.length, seconds, sampleRate, seed,
      splits, reviews: corpus.albums.reduce((n, a) => n + a.reviews.length, 0), problems: corpus.problems.length,
      elapsedS: Math.round((Date.now() - t0) / 100) / 10,
    };
    if (args.values.json === true) process.stdout.write(JSON.stringify(summary) + '\n');
    else {
      process.stdout.write(`${summary.tracks} tracks (${splits.train}/${splits.valid}/${splits.test} train/valid/test) in ${summary.albums} albums with ${summary.reviews} reviews -> ${summary.out} (${summary.elapsedS} s)\n`);
    }
    return corpus.problems.length > 0 ? 1 : 0;
  },
};
