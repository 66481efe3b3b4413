/** Running the Python peers in ../shared/peers (Debian's python3-numpy / -torch / -sklearn). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** ../shared beside the repository, found from either bench/ or dist/bench/. */
export const sharedDir = [join(here, '..', '..', 'shared'), join(here, '..', '..', '..', 'shared')].find((d) => existsSync(d)) ?? join(here, '..', '..', 'shared');

export const PYTHON = '/usr/bin/python3';

/** Run a peer script; returns its last stdout line parsed as JSON, or a reason it could not run. */
export function runPeer(script: string, args: string[] = []): { ok: true; result: Record<string, unknown> } | { ok: false; reason: string } {
  const path = join(sharedDir, 'peers', script);
  if (!existsSync(path)) return { ok: false, reason: `peer ${path} not found` };
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) return { ok: false, reason: r.error.message };
  if (r.status !== 0) return { ok: false, reason: `exit ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ok: true, result: JSON.parse(last) };
  } catch {
    return { ok: false, reason: `peer printed no JSON: ${last}` };
  }
}

/** Whether a Python module is importable by the peer interpreter (e.g. 'sklearn', 'torch'). */
export function pythonHas(module: string): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  return r.status === 0;
}
