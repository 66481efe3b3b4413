/** `musicbert pretrain`: stage 1 (audio encoder on tags) + stage 2 (MusicBert objectives) on a corpus. */
import { UsageError } from '../util/errors.js';
import { formatSeconds } from '../util/progress.js';
import { opt, parseOptions, type Command } from './command.js';
import { ENCODER_OBJECTIVES, parseEncoderObjectives } from '../train/encoderStage.js';
import { OBJECTIVES, parseObjectives, parseWeights } from '../train/musicbertLoss.js';
import { pretrain, type PretrainResult } from '../train/pretrain.js';
import { PRESETS, preset, type PresetName } from '../train/presets.js';
import { CONCEPT_SOURCES, parseConceptSources } from '../train/concepts.js';
import { loadCorpus } from '../data/datasets/index.js';
import { CATALOGUE_FLAGS, CATALOGUE_USAGE, catalogueLoadOptions } from './catalogueArgs.js';

const usage = `usage: musicbert pretrain --data DIR --out DIR [options]

Pre-train on a corpus (the generator's output or GTZAN/Deezer/MuMu layouts):
  stage 1  the audio encoder learns concept tags from log-mel patches   → OUT/audio-encoder/
  stage 2  the shared MusicBert learns the chosen objectives over the
           frozen encoder vectors and album reviews                     → OUT/musicbert/
A re-run with the same options resumes from the last checkpoint (or reuses finished stages).

options:
  --objectives LIST   comma list of ${OBJECTIVES.join(', ')} (default: all)
  --weights LIST      per-objective loss weights, e.g. mlm=1,mim=0.5 (default 1 each)
  --config NAME       ${PRESETS.join(' | ')} (default small): model sizes, steps, batch sizes
  --steps N           stage-2 updates (preset default)
  --batch B           stage-2 batch size in tracks
  --lr X              stage-2 peak learning rate
  --encoder-steps N   stage-1 updates (0 = keep the random encoder)
  --encoder-from DIR  use this trained audio-encoder checkpoint instead of stage 1
  --encoder-objectives LIST  stage-1 objectives, comma list of ${ENCODER_OBJECTIVES.join(', ')}
                      (default: tags when the corpus has tags or genres, else contrastive)
  --extra-audio PATH  more unlabeled audio (folder, recursive, or file; repeatable) for stage 1
  --concepts LIST     concept targets, comma list of ${CONCEPT_SOURCES.join(', ')}: the tags, the genre,
                      categorical label columns (default: the preset's; small: tags, else the genre)
  --min-concept-tracks N  keep a concept carried by at least N training tracks (default: the preset's)
  --seed S            seed of everything random (default 0)
  --cache DIR         patch/vector cache (default DATA/.musicbert-cache)
  --checkpoint-every N   checkpoint period in updates (default a quarter of each stage)
  --json              print the summary as JSON on stdout
  --quiet             no progress on stderr
${CATALOGUE_USAGE}`;

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : '-';
}

function textSummary(r: PretrainResult): string {
  const s = r.summary;
  const lines = [
    `pretrained on ${s.tracks.train} train / ${s.tracks.valid} valid tracks (${s.tracks.skipped} skipped), config ${s.config}, seed ${s.seed}`,
    `stage 1 encoder: ${s.encoder.reused ? 'reused ' + r.encoderDir : `${s.encoder.steps} steps in ${formatSeconds(s.encoder.seconds)}`}`,
  ];
  for (const [name, v] of Object.entries(s.encoder.losses)) lines.push(`  ${name.padEnd(12)} ${fmt(v.first)} → ${fmt(v.last)}`);
  lines.push(`stage 2 musicbert [${s.objectives.join(', ')}]: ${s.model.reused ? 'reused ' + r.modelDir : `${s.model.steps} steps in ${formatSeconds(s.model.seconds)}`}${s.stopped ? ' (stopped early)' : ''}`);
  for (const [name, v] of Object.entries(s.model.losses)) lines.push(`  ${name.padEnd(12)} ${fmt(v.first)} → ${fmt(v.last)}`);
  const val = s.model.validation.at(-1);
  if (val) lines.push(`  validation (step ${val.step}): ${fmt(val.loss)} ${Object.entries(val.parts).map(([n, x]) => `${n} ${fmt(x)}`).join(', ')}`);
  lines.push(`wrote ${r.encoderDir} and ${r.modelDir} in ${formatSeconds(s.seconds)} (cache ${s.cache.dir})`);
  return lines.join('\n');
}

export const pretrainCommand: Command = {
  name: 'pretrain',
  summary: 'pre-train the audio encoder and the shared MusicBert on a corpus',
  usage,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        data: opt.string({ required: true, meta: 'DIR' }),
        out: opt.string({ required: true, meta: 'DIR' }),
        objectives: opt.string(),
        weights: opt.string(),
        config: opt.string({ default: 'small' }),
        steps: opt.int({ min: 1 }),
        batch: opt.int({ min: 2 }),
        lr: opt.number({ positive: true }),
        'encoder-steps': opt.int({ min: 0 }),
        'encoder-from': opt.string(),
        'encoder-objectives': opt.string(),
        'extra-audio': opt.strings(),
        concepts: opt.string(),
        'min-concept-tracks': opt.int({ min: 1 }),
        seed: opt.int({ min: 0, default: 0 }),
        cache: opt.string(),
        'checkpoint-every': opt.int({ min: 1 }),
        json: opt.flag(),
        quiet: opt.flag(),
        ...CATALOGUE_FLAGS,
      },
      usage,
    );
    const load = await catalogueLoadOptions(o);
    const config = o.config as PresetName;
    const p = preset(config); // validates the name; its values are the defaults
    const result = await pretrain({
      data: o.data,
      ...(load.columns ? { corpus: await loadCorpus(o.data, load) } : {}),
      out: o.out,
      objectives: o.objectives ? parseObjectives(o.objectives) : undefined,
      weights: parseWeights(o.weights),
      config,
      steps: o.steps ?? p.steps,
      batch: o.batch ?? p.batch,
      lr: o.lr ?? p.lr,
      encoderSteps: o['encoder-steps'] ?? p.encoderSteps,
      encoderFrom: o['encoder-from'],
      encoderObjectives: o['encoder-objectives'] ? parseEncoderObjectives(o['encoder-objectives']) : undefined,
      extraAudio: o['extra-audio'].length ? o['extra-audio'] : undefined,
      concepts: {
        ...(o.concepts ? { sources: parseConceptSources(o.concepts) } : {}),
        ...(o['min-concept-tracks'] !== undefined ? { minTracks: o['min-concept-tracks'] } : {}),
      },
      seed: o.seed,
      cacheDir: o.cache,
      checkpointEvery: o['checkpoint-every'],
      quiet: o.quiet,
    });
    if (o.json) {
      process.stdout.write(JSON.stringify({ encoderDir: result.encoderDir, modelDir: result.modelDir, ...result.summary }, null, 2) + '\n');
    } else {
      process.stdout.write(textSummary(result) + '\n');
    }
    return 0;
  },
};
