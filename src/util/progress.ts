/**
 * Progress for long work: a one-line bar with rate and ETA on a TTY, and a plain line every few
 * seconds otherwise (CI logs). Writes to stderr so stdout stays clean for --json output.
 */
export interface ProgressOptions {
  /** Total units of work; unknown totals show a count and rate only. */
  total?: number;
  label: string;
  /** Where to write; defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Silence all output (library use, tests). */
  quiet?: boolean;
  /** Minimum milliseconds between non-TTY lines. */
  intervalMs?: number;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastPrint = 0;
  private extra = '';
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
  }

  /** Advance by `n` units; `info` is shown after the bar (e.g. "loss 1.234"). */
  tick(n = 1, info?: string): void {
    this.done += n;
    if (info !== undefined) this.extra = info;
    this.render(false);
  }

  /** Set the absolute amount done (e.g. when resuming). */
  set(done: number, info?: string): void {
    this.done = done;
    if (info !== undefined) this.extra = info;
    this.render(false);
  }

  finish(info?: string): void {
    if (info !== undefined) this.extra = info;
    this.render(true);
  }

  private render(final: boolean): void {
    if (this.opts.quiet) return;
    const now = Date.now();
    const tty = Boolean(this.stream.isTTY);
    const interval = tty ? 100 : (this.opts.intervalMs ?? 5000);
    if (!final && now - this.lastPrint < interval) return;
    this.lastPrint = now;
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const total = this.opts.total;
    let line = `${this.opts.label} `;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.done / total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (total - this.done) / rate : NaN;
      line += `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${total} `;
      line += `${(frac * 100).toFixed(0)}% ${formatRate(rate)} eta ${formatSeconds(eta)}`;
    } else {
      line += `${this.done} ${formatRate(rate)} ${formatSeconds(elapsed)}`;
    }
    if (this.extra) line += ` | ${this.extra}`;
    if (tty) this.stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

function formatRate(r: number): string {
  return r >= 1 || r === 0 ? `${r.toFixed(1)}/s` : `${(1 / r).toFixed(1)}s/it`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
