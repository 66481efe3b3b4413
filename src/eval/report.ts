/**
 * The Table-1 report: one row per representation, mean ± std over seeds of genre accuracy and
 * valence / arousal r², written as table1.json (everything, including per-seed and per-fold
 * detail), table1.md (the table) and table1.svg (a bar chart with error bars), each atomically.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { meanStd } from './metrics.js';
import type { TaskResult } from './probes.js';
import { REP_LABELS, TASK_METRIC, type RepName, type SplitMode, type TaskName } from './types.js';

export interface Stat {
  mean: number;
  std: number;
  /** Number of runs (seeds) behind the figure. */
  n: number;
}

export interface RunResult {
  seed: number;
  /** Features came from the on-disk cache. */
  cached: boolean;
  /** Wall-clock seconds for features + probes of this run. */
  seconds: number;
  tasks: Partial<Record<TaskName, TaskResult>>;
}

export interface Table1Row {
  rep: RepName;
  label: string;
  dim: number;
  learned: boolean;
  seeds: number[];
  scores: Partial<Record<TaskName, Stat>>;
  runs: RunResult[];
}

export interface Table1 {
  format: 'musicbert-table1';
  version: 1;
  data: string;
  split: SplitMode;
  quick: boolean;
  seeds: number;
  corpus: { tracks: number; train: number; test: number; genres: string[] };
  tasks: TaskName[];
  /** Majority-class accuracy for genre; 0 (a constant prediction) for r². */
  baselines: Partial<Record<TaskName, number>>;
  rows: Table1Row[];
}

export const TASK_TITLES: Record<TaskName, string> = { genre: 'Genre accuracy', valence: 'Valence r²', arousal: 'Arousal r²' };

/** Aggregate one representation's runs into a row. */
export function summariseRow(rep: RepName, dim: number, learned: boolean, runs: RunResult[]): Table1Row {
  const scores: Partial<Record<TaskName, Stat>> = {};
  for (const task of ['genre', 'valence', 'arousal'] as const) {
    const values = runs.map((r) => r.tasks[task]?.score).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length > 0) scores[task] = meanStd(values);
  }
  return { rep, label: REP_LABELS[rep], dim, learned, seeds: runs.map((r) => r.seed), scores, runs };
}

function fmt(s: Stat | undefined): string {
  if (!s) return '—';
  return s.n > 1 ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}` : s.mean.toFixed(3);
}

export function renderMarkdown(t: Table1): string {
  const head = ['Representation', 'Dim', ...t.tasks.map((k) => TASK_TITLES[k]), 'Seeds'];
  const lines = [`# Table 1 — probing frozen representations`, ''];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`);
  for (const r of t.rows) {
    lines.push(`| ${[r.label + ` (\`${r.rep}\`)`, String(r.dim), ...t.tasks.map((k) => fmt(r.scores[k])), String(r.seeds.length)].join(' | ')} |`);
  }
  const base = t.tasks.map((k) => `${TASK_TITLES[k]} ${(t.baselines[k] ?? NaN).toFixed(3)}`).join(', ');
  lines.push('');
  lines.push(`Data: \`${t.data}\` — ${t.corpus.tracks} tracks, split \`${t.split}\` (${t.corpus.train} train / ${t.corpus.test} held out${t.split === 'cv10' ? ' per fold' : ''}).`);
  lines.push(`Probes: SVM (genre, ${TASK_METRIC.genre}) and epsilon-SVR (valence, arousal: r²) on standardised features; kernel and C chosen by k-fold cross-validation within the training data.`);
  lines.push(`Learned rows: mean ± sample std over ${t.seeds} seed(s), each seed a separate training run; deterministic rows are run once.`);
  lines.push(`Baselines on the same held-out tracks: ${base || 'none'}.`);
  if (t.quick) lines.push('Quick mode: reduced training and a smaller probe grid; figures are for smoke-testing only.');
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS: Record<TaskName, string> = { genre: '#4e79a7', valence: '#f28e2b', arousal: '#59a14f' };

/** A grouped bar chart: one group per row, one bar per task, error bars at ± std. Hand-written SVG. */
export function renderSvg(t: Table1): string {
  const tasks = t.tasks;
  const groupW = Math.max(60, tasks.length * 22 + 24);
  const left = 56;
  const top = 40;
  const plotH = 260;
  const labelH = 120;
  const width = left + Math.max(1, t.rows.length) * groupW + 160;
  const height = top + plotH + labelH;
  const values = t.rows.flatMap((r) => tasks.map((k) => r.scores[k]).filter((s): s is Stat => s !== undefined).map((s) => s.mean - s.std));
  // r² is unbounded below; past -1 a bar says nothing more, so the axis stops there and clipped
  // bars carry their value as text.
  const yMin = Math.max(-1, Math.min(0, Math.floor(Math.min(0, ...values) * 10) / 10));
  const yMax = 1;
  const tick = yMax - yMin > 1.5 ? 0.2 : 0.1;
  const y = (v: number): number => top + ((yMax - Math.max(yMin, Math.min(yMax, v))) / (yMax - yMin)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>Table 1: ${esc(tasks.map((k) => TASK_TITLES[k]).join(', '))} per representation</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  // grid and axis
  for (let i = Math.ceil(yMin / tick - 1e-9); i * tick <= yMax + 1e-9; i++) {
    const v = i * tick;
    const yy = y(v).toFixed(1);
    const major = Math.abs(v) < 1e-9;
    out.push(`<line x1="${left}" y1="${yy}" x2="${width - 150}" y2="${yy}" stroke="${major ? '#333' : '#ddd'}" stroke-width="${major ? 1 : 0.5}"/>`);
    out.push(`<text x="${left - 6}" y="${(Number(yy) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  t.rows.forEach((r, gi) => {
    const gx = left + gi * groupW + 12;
    tasks.forEach((k, bi) => {
      const s = r.scores[k];
      if (!s) return;
      const x = gx + bi * 22;
      const y0 = y(0);
      const y1 = y(s.mean);
      out.push(`<rect class="bar" data-rep="${r.rep}" data-task="${k}" data-mean="${s.mean}" data-std="${s.std}" x="${x}" y="${Math.min(y0, y1).toFixed(1)}" width="18" height="${Math.abs(y1 - y0).toFixed(1)}" fill="${COLORS[k]}"><title>${esc(`${r.label} — ${TASK_TITLES[k]}: ${fmt(s)}`)}</title></rect>`);
      if (s.mean < yMin) out.push(`<text class="clipped" x="${x + 9}" y="${(y(yMin) + 11).toFixed(1)}" text-anchor="middle" font-size="9">${s.mean.toFixed(2)}</text>`);
      if (s.n > 1 && s.std > 0) {
        const cx = x + 9;
        const lo = y(s.mean - s.std).toFixed(1);
        const hi = y(s.mean + s.std).toFixed(1);
        out.push(`<path class="errorbar" d="M${cx} ${lo}V${hi}M${cx - 4} ${lo}H${cx + 4}M${cx - 4} ${hi}H${cx + 4}" stroke="#222" stroke-width="1" fill="none"/>`);
      }
    });
    const lx = gx + (tasks.length * 22) / 2;
    const ly = top + plotH + 24;
    out.push(`<text class="row-label" x="${lx}" y="${ly}" transform="rotate(35 ${lx} ${ly})">${esc(r.label)}</text>`);
  });
  // legend
  tasks.forEach((k, i) => {
    const lx = width - 140;
    const ly = top + i * 18;
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[k]}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 10}">${esc(TASK_TITLES[k])}</text>`);
  });
  out.push(`<text x="${left}" y="${top - 16}" font-size="13">${esc(`Probing accuracy / r² (split ${t.split}, ${t.seeds} seed${t.seeds === 1 ? '' : 's'}; bars ± std)`)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Write table1.json, table1.md and table1.svg into `dir` (each atomically). */
export async function writeReport(dir: string, t: Table1): Promise<{ json: string; md: string; svg: string }> {
  const paths = { json: join(dir, 'table1.json'), md: join(dir, 'table1.md'), svg: join(dir, 'table1.svg') };
  await writeJsonAtomic(paths.json, t);
  await writeFileAtomic(paths.md, renderMarkdown(t));
  await writeFileAtomic(paths.svg, renderSvg(t));
  return paths;
}
