/** Missing and unreadable files (and, for catalogues, bad sidecar rows), gathered while loading and reported once as a summary. */
import type { LoadProblem } from '../corpus.js';

/** One summary: how many files were skipped and which (the first `max`, then a count). */
export function formatProblems(problems: readonly LoadProblem[], max = 10): string {
  if (problems.length === 0) return 'no missing or unreadable files';
  const byKind = new Map<string, number>();
  for (const p of problems) {
    const kind = p.problem.split(':')[0] as string;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
  const listed = problems.slice(0, max).map((p) => `  ${p.path}: ${p.problem}`);
  const more = problems.length > max ? [`  ... and ${problems.length - max} more`] : [];
  // "problems", not "files skipped": an unknown column or a bad number skips nothing.
  return [`${problems.length} loading problem(s) (${kinds}); the rest loaded:`, ...listed, ...more].join('\n');
}
