/**
 * The training loop, nanoGPT train.py style: one readable function, generic over a parameter set
 * and a loss closure. Per step:
 *
 *   lr ← schedule(step)                         warm-up + cosine (schedule.ts)
 *   loss, grads ← variableGrads(loss(step))     the closure builds its own batch for this step
 *   grads ← clip to global norm                 (optimizer.ts)
 *   AdamW update
 *   every evalEvery: validation loss; every checkpointEvery: save(params, optimizer, state)
 *
 * Determinism and resume: nothing random is carried from step to step. Step s gets its own Rng
 * derived from (seed, s), and data order is a pure function of (seed, epoch) (src/data/batches.ts),
 * so "RNG state + data order" in a checkpoint reduce to (seed, step). A run resumed from the
 * checkpoint at step k replays steps k+1.. exactly as the uninterrupted run would have, and the
 * optimizer moments are restored bit for bit: the final weights are identical.
 */
import { tf } from '../tensor/backend.js';
import { Rng, seedFrom } from '../util/rng.js';
import { Progress } from '../util/progress.js';
import { CheckpointError, ConfigError, TrainingDivergedError } from '../util/errors.js';
import type { TensorMap } from '../util/safetensors.js';
import { AdamW, clipByGlobalNorm, type AdamWConfig } from './optimizer.js';
import { learningRate, scheduleConfig, type ScheduleConfig } from './schedule.js';

/** What a loss closure returns: the scalar to minimise and named (unweighted) parts to log. */
export interface LossOutput {
  loss: tf.Scalar;
  parts: Record<string, tf.Scalar>;
}

export interface StepContext {
  /** 0-based index of the update being computed. */
  step: number;
  /** This step's generator, derived from (seed, step): masking, dropout seeds, pair shuffles. */
  rng: Rng;
}

export interface StepRecord {
  step: number;
  loss: number;
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
}

export interface ValidationRecord {
  /** Number of updates done when measured. */
  step: number;
  loss: number;
  parts: Record<string, number>;
}

/** Everything besides weights and optimizer moments that a resumed run needs (JSON-serialisable). */
export interface TrainerState {
  kind: 'trainer-state';
  /** Updates completed. */
  step: number;
  totalSteps: number;
  seed: number;
  /** How per-step randomness and data order are derived; both are functions of (seed, step). */
  rng: 'per-step(seed, step)';
  history: StepRecord[];
  validation: ValidationRecord[];
  /** Free-form description of the data order from the caller (e.g. sampler seed and sizes), checked on resume. */
  data?: unknown;
}

export interface TrainerSnapshot {
  optimizer: TensorMap;
  state: TrainerState;
}

export interface TrainerOptions {
  params: Record<string, tf.Variable>;
  /** Builds step `ctx.step`'s batch and returns its loss. Runs inside the gradient tape. */
  loss: (ctx: StepContext) => LossOutput;
  /** Validation loss without gradients (the closure picks its fixed validation batches). */
  validate?: () => LossOutput;
  /** Total updates of the whole run (resumes included): the schedule spans this. */
  steps: number;
  seed: number;
  lr?: number;
  warmupSteps?: number;
  minLrRatio?: number;
  optimizer?: Partial<AdamWConfig>;
  /** Global-norm clipping threshold (Infinity or 0 disables). Default 1. */
  clipNorm?: number;
  /** Validation every N updates (and after the last). 0 = never. */
  evalEvery?: number;
  /** Call `save` every N updates (and after the last). 0 = only at the end. */
  checkpointEvery?: number;
  save?: (snapshot: TrainerSnapshot) => Promise<void>;
  /** Continue from a snapshot (weights must already be loaded into `params` by the caller). */
  resume?: TrainerSnapshot;
  /** Stop once this many updates are done, as if killed (no end-of-run save). For tests and time boxes. */
  stopAt?: number;
  /** Caller's data-order description, stored in the state and compared on resume. */
  data?: unknown;
  label?: string;
  quiet?: boolean;
  onStep?: (record: StepRecord) => void;
}

export interface TrainResult {
  state: TrainerState;
  history: StepRecord[];
  validation: ValidationRecord[];
  seconds: number;
  /** True when the run ended at `stopAt` before `steps`. */
  stopped: boolean;
}

/** The Rng for update `step` of a run seeded with `seed`. */
export function stepRng(seed: number, step: number): Rng {
  return new Rng(seedFrom(seed, `step:${step}`));
}

function readParts(names: string[], stacked: tf.Tensor | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!stacked) return out;
  const values = stacked.dataSync();
  names.forEach((n, i) => (out[n] = values[i] as number));
  return out;
}

/** Run the loss closure under a tape-free tidy and read its numbers. */
function evaluate(fn: () => LossOutput): { loss: number; parts: Record<string, number> } {
  let partNames: string[] = [];
  const stacked = tf.tidy(() => {
    const out = fn();
    partNames = Object.keys(out.parts);
    return tf.stack([out.loss, ...partNames.map((n) => out.parts[n] as tf.Scalar)]);
  });
  const values = stacked.dataSync();
  stacked.dispose();
  const parts: Record<string, number> = {};
  partNames.forEach((n, i) => (parts[n] = values[i + 1] as number));
  return { loss: values[0] as number, parts };
}

export async function train(opts: TrainerOptions): Promise<TrainResult> {
  const started = Date.now();
  const names = Object.keys(opts.params);
  if (names.length === 0) throw new ConfigError('train: no parameters to train');
  if (!(Number.isInteger(opts.steps) && opts.steps >= 1)) throw new ConfigError(`train: steps must be a positive integer, got ${opts.steps}`);
  const schedule: ScheduleConfig = scheduleConfig({
    peakLr: opts.lr ?? 1e-3,
    warmupSteps: opts.warmupSteps ?? Math.min(100, Math.floor(opts.steps / 10)),
    totalSteps: opts.steps,
    minRatio: opts.minLrRatio ?? 0.1,
  });
  const clipNorm = opts.clipNorm ?? 1;
  const evalEvery = opts.evalEvery ?? 0;
  const checkpointEvery = opts.checkpointEvery ?? 0;
  const vars = names.map((n) => opts.params[n] as tf.Variable);
  // variableGrads keys gradients by the engine-wide variable name; map them back to our keys.
  const keyOf = new Map(names.map((n) => [(opts.params[n] as tf.Variable).name, n]));

  const optimizer = new AdamW(opts.params, opts.optimizer);
  let state: TrainerState = {
    kind: 'trainer-state',
    step: 0,
    totalSteps: opts.steps,
    seed: opts.seed,
    rng: 'per-step(seed, step)',
    history: [],
    validation: [],
    data: opts.data,
  };
  if (opts.resume) {
    const r = opts.resume.state;
    if (r.kind !== 'trainer-state') throw new CheckpointError('trainer state is missing or of another kind');
    if (r.seed !== opts.seed || r.totalSteps !== opts.steps) {
      throw new CheckpointError(`cannot resume: checkpoint was seed ${r.seed} / ${r.totalSteps} steps, this run is seed ${opts.seed} / ${opts.steps} steps`);
    }
    if (JSON.stringify(r.data ?? null) !== JSON.stringify(opts.data ?? null)) {
      throw new CheckpointError('cannot resume: the checkpoint was trained on a different data order (corpus or batch size changed)');
    }
    optimizer.importState(opts.resume.optimizer);
    state = { ...r, history: [...r.history], validation: [...r.validation] };
  }

  const snapshot = (): TrainerSnapshot => ({ optimizer: optimizer.exportState(), state: { ...state, history: [...state.history], validation: [...state.validation] } });
  const progress = new Progress({ total: opts.steps, label: opts.label ?? 'train', quiet: opts.quiet });
  progress.set(state.step);
  const end = Math.min(opts.steps, opts.stopAt ?? opts.steps);
  try {
    while (state.step < end) {
      const step = state.step;
      const lr = learningRate(step, schedule);
      const ctx: StepContext = { step, rng: stepRng(opts.seed, step) };
      let partNames: string[] = [];
      let partsT: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const out = opts.loss(ctx);
        partNames = Object.keys(out.parts);
        if (partNames.length > 0) partsT = tf.keep(tf.stack(partNames.map((n) => out.parts[n] as tf.Scalar)));
        return out.loss;
      }, vars);
      const named: Record<string, tf.Tensor> = {};
      for (const [vname, g] of Object.entries(grads)) {
        const key = keyOf.get(vname);
        if (key !== undefined && g) named[key] = g;
      }
      const clipped = clipByGlobalNorm(named, clipNorm);
      const loss = value.dataSync()[0] as number;
      const parts = readParts(partNames, partsT);
      value.dispose();
      tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g !== null));
      if (partsT) (partsT as tf.Tensor).dispose();
      if (!Number.isFinite(loss) || !Number.isFinite(clipped.norm)) {
        tf.dispose(Object.values(clipped.grads));
        throw new TrainingDivergedError(`${opts.label ?? 'training'} diverged at step ${step}: loss ${loss}, gradient norm ${clipped.norm} (lower --lr?)`, step);
      }
      optimizer.step(clipped.grads, lr);
      tf.dispose(Object.values(clipped.grads));

      const record: StepRecord = { step, loss, parts, lr, gradNorm: clipped.norm };
      state.history.push(record);
      state.step = step + 1;
      opts.onStep?.(record);
      progress.tick(1, `loss ${loss.toFixed(4)} lr ${lr.toExponential(1)}`);

      const last = state.step === opts.steps;
      if (opts.validate && ((evalEvery > 0 && state.step % evalEvery === 0) || last)) {
        const v = evaluate(opts.validate);
        state.validation.push({ step: state.step, ...v });
      }
      if (opts.save && ((checkpointEvery > 0 && state.step % checkpointEvery === 0) || last)) {
        await opts.save(snapshot());
      }
    }
  } finally {
    optimizer.dispose();
  }
  const lastLoss = state.history.at(-1)?.loss;
  progress.finish(lastLoss === undefined ? undefined : `loss ${lastLoss.toFixed(4)}`);
  return {
    state,
    history: state.history,
    validation: state.validation,
    seconds: (Date.now() - started) / 1000,
    stopped: state.step < opts.steps,
  };
}
