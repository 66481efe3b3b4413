/** `musicbert pretrain`: stage 1 (audio encoder on tags) + stage 2 (MusicBert objectives) on a corpus. */
import { UsageError } from '../util/errors.js';
import { formatSeconds } from '../util/progress.js';
import { parseCommandArgs, numberOption, stringOption, type Command } from './command.js';
import { OBJECTIVES, parseObjectives, parseWeights } from '../train/musicbertLoss.js';
import { ENCODER_OBJECTIVES, parseEncoderObjectives } from '../train/encoderStage.js';
import { pretrain, type PretrainResult } from '../train/pretrain.js';
import { PRESETS, preset, type PresetName } from '../train/presets.js';

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
  --seed S            seed of everything random (default 0)
  --cache DIR         patch/vector cache (default DATA/.musicbert-cache)
  --checkpoint-every N   checkpoint period in updates (default a quarter of each stage)
  --json              print the summary as JSON on stdout
  --quiet             no progress on stderr`;

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
    const args = parseCommandArgs(
      argv,
      {
        data: { type: 'string' },
        out: { type: 'string' },
        objectives: { type: 'string' },
        weights: { type: 'string' },
        config: { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        'encoder-steps': { type: 'string' },
        'encoder-from': { type: 'string' },
        'encoder-objectives': { type: 'string' },
        'extra-audio': { type: 'string', multiple: true },
        seed: { type: 'string' },
        cache: { type: 'string' },
        'checkpoint-every': { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
      usage,
    );
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n\n${usage}`);
    const data = stringOption(args, 'data');
    const out = stringOption(args, 'out');
    if (!data || !out) throw new UsageError(`--data DIR and --out DIR are required\n\n${usage}`);
    const config = (stringOption(args, 'config') ?? 'small') as PresetName;
    const p = preset(config); // validates the name
    const int = (name: string, fallback: number, min: number): number => {
      const v = numberOption(stringOption(args, name), name, fallback);
      if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
      return v;
    };
    const lr = numberOption(stringOption(args, 'lr'), 'lr', p.lr);
    if (!(lr > 0)) throw new UsageError(`--lr must be > 0, got ${lr}`);
    const objectivesText = stringOption(args, 'objectives');
    const encObjectivesText = stringOption(args, 'encoder-objectives');
    const extraAudio = ((args.values['extra-audio'] as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter(Boolean);
    const result = await pretrain({
      data,
      out,
      objectives: objectivesText ? parseObjectives(objectivesText) : undefined,
      weights: parseWeights(stringOption(args, 'weights')),
      config,
      steps: int('steps', p.steps, 1),
      batch: int('batch', p.batch, 2),
      lr,
      encoderSteps: int('encoder-steps', p.encoderSteps, 0),
      encoderFrom: stringOption(args, 'encoder-from'),
      encoderObjectives: encObjectivesText ? parseEncoderObjectives(encObjectivesText) : undefined,
      extraAudio: extraAudio.length ? extraAudio : undefined,
      seed: int('seed', 0, 0),
      cacheDir: stringOption(args, 'cache'),
      checkpointEvery: stringOption(args, 'checkpoint-every') === undefined ? undefined : int('checkpoint-every', 1, 1),
      quiet: args.values.quiet === true,
    });
    if (args.values.json === true) {
      process.stdout.write(JSON.stringify({ encoderDir: result.encoderDir, modelDir: result.modelDir, ...result.summary }, null, 2) + '\n');
    } else {
      process.stdout.write(textSummary(result) + '\n');
    }
    return 0;
  },
};
