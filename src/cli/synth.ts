/** `musicbert synth`: generate (or resume generating) the built-in music + review corpus. */
import { availableParallelism } from 'node:os';
import { synthesizeCorpus } from '../data/synth/index.js';
import { opt, parseOptions, type Command } from './command.js';

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

export const synthCommand: Command = {
  name: 'synth',
  summary: 'generate the built-in corpus: synthesized music in 10 genres, moods, tags and album reviews',
  usage,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        out: opt.string({ required: true, meta: 'DIR' }),
        tracks: opt.int({ required: true }),
        seconds: opt.number({ required: true }),
        seed: opt.int({ required: true }),
        'sample-rate': opt.string({ choices: ['16000', '22050'], default: '16000' }),
        'tracks-per-album': opt.int({ default: 5 }),
        workers: opt.int({ default: availableParallelism() }),
        json: opt.flag(),
        quiet: opt.flag(),
      },
      usage,
    );
    const { out, tracks, seconds, seed, 'tracks-per-album': tracksPerAlbum, workers } = o;
    const sampleRate = o['sample-rate'] === '22050' ? 22050 : 16000;
    const t0 = Date.now();
    const corpus = await synthesizeCorpus({ out, tracks, seconds, seed, sampleRate, tracksPerAlbum, workers, quiet: o.quiet });
    const splits = { train: 0, valid: 0, test: 0 };
    for (const t of corpus.tracks) splits[t.split]++;
    const summary = {
      out: corpus.root, tracks: corpus.tracks.length, albums: corpus.albums.length, seconds, sampleRate, seed,
      splits, reviews: corpus.albums.reduce((n, a) => n + a.reviews.length, 0), problems: corpus.problems.length,
      elapsedS: Math.round((Date.now() - t0) / 100) / 10,
    };
    if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else {
      process.stdout.write(`${summary.tracks} tracks (${splits.train}/${splits.valid}/${splits.test} train/valid/test) in ${summary.albums} albums with ${summary.reviews} reviews -> ${summary.out} (${summary.elapsedS} s)\n`);
    }
    return corpus.problems.length > 0 ? 1 : 0;
  },
};
