/**
 * The module graph of src/ has no circles: every static relative import (type-only ones too, since
 * they tie the files together for a reader as much as for the compiler) is followed, and Tarjan's
 * algorithm must find no strongly connected component of more than one file. Dynamic `import()`
 * is not followed: it is how a module loads another lazily on purpose (tensor/backend.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot, tempDir } from './shared.js';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Strongly connected components of more than one node (import circles). */
function importCycles(files: readonly string[]): string[][] {
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, [...readFileSync(f, 'utf8').matchAll(IMPORT)].map((m) => resolve(dirname(f), (m[1] as string).replace(/\.js$/, '.ts'))).filter((t) => known.has(t))]));
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

test('the checker finds a circle of type-only imports and ignores dynamic ones', () => {
  const dir = tempDir('mb-imports-');
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const a = write('a.ts', "import type { B } from './b.js';\nexport type A = B;\n");
  const b = write('b.ts', "import {\n  type A,\n} from './a.js';\nexport type B = number;\nexport type C = A;\n");
  const c = write('c.ts', "export const load = () => import('./d.js');\n");
  const d = write('d.ts', "import { load } from './c.js';\nexport const again = load;\n");
  assert.deepEqual(importCycles([a, b, c, d]), [[a, b]]);
});

test('src/ has no import cycles', () => {
  const src = join(repoRoot, 'src');
  const files = sourceFiles(src);
  assert.ok(files.length > 100, `found ${files.length} source files`);
  const cycles = importCycles(files).map((c) => c.map((f) => relative(src, f)).join(' → '));
  assert.deepEqual(cycles, []);
});
