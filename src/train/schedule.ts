/** Learning-rate schedule: linear warm-up, then cosine decay to a floor (as in nanoGPT / BERT recipes). */
import { ConfigError } from '../util/errors.js';

export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warm-up. */
  peakLr: number;
  /** Warm-up steps (linear from peakLr/warmupSteps up to peakLr). */
  warmupSteps: number;
  /** Total optimizer steps; the cosine reaches minLr at the last one. */
  totalSteps: number;
  /** Floor of the cosine, as a fraction of peakLr. */
  minRatio: number;
}

export function scheduleConfig(overrides: Partial<ScheduleConfig> & { totalSteps: number }): ScheduleConfig {
  const cfg: ScheduleConfig = { peakLr: 1e-3, warmupSteps: 0, minRatio: 0.1, ...overrides };
  if (!(cfg.peakLr > 0)) throw new ConfigError(`schedule: peakLr must be > 0, got ${cfg.peakLr}`);
  if (!(cfg.totalSteps >= 1)) throw new ConfigError(`schedule: totalSteps must be >= 1, got ${cfg.totalSteps}`);
  if (!(cfg.warmupSteps >= 0)) throw new ConfigError(`schedule: warmupSteps must be >= 0, got ${cfg.warmupSteps}`);
  if (!(cfg.minRatio >= 0 && cfg.minRatio <= 1)) throw new ConfigError(`schedule: minRatio must be in [0, 1], got ${cfg.minRatio}`);
  return cfg;
}

/**
 * Learning rate for the update with 0-based index `step`.
 * Warm-up: peak·(step+1)/warmup for step < warmup, so the first update is never at lr 0.
 * Decay: minLr + ½(peak − minLr)(1 + cos(π·p)), p = (step − warmup)/(total − warmup − 1) ∈ [0, 1],
 * so the first post-warm-up step is at peak and the last step at minLr. Past the end: minLr.
 */
export function learningRate(step: number, cfg: ScheduleConfig): number {
  const { peakLr, warmupSteps, totalSteps, minRatio } = cfg;
  const minLr = peakLr * minRatio;
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  const span = totalSteps - warmupSteps - 1;
  if (span <= 0) return step < totalSteps ? peakLr : minLr;
  const p = Math.min(1, (step - warmupSteps) / span);
  return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * p));
}
