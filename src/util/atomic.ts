/**
 * Atomic writes: data goes to a temporary sibling first and is renamed into place, so a reader
 * (or a resumed run) never sees a half-written file. rename() is atomic within one filesystem,
 * which is why the temp file lives in the same directory as the target.
 *
 * A full disk (ENOSPC, EDQUOT) becomes a DiskFullError naming the target: by construction the
 * target is untouched, so the message can say nothing was lost and a re-run resumes.
 */
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { asDiskFull } from './errors.js';

/** Test hook: a function run before each atomic write, e.g. to inject an ENOSPC. */
export interface AtomicWriteHooks {
  beforeWrite?: (path: string) => void;
}

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Write `data` to `path` atomically (temp file + fsync + rename). Creates parent directories. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    hooks.beforeWrite?.(path);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw asDiskFull(err, path) ?? err;
  }
}

export async function writeJsonAtomic(path: string, value: unknown, hooks: AtomicWriteHooks = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', hooks);
}

/**
 * Write a whole directory atomically: `fill` populates a temp directory, which then replaces
 * `dir`. The old directory (if any) is moved aside first and removed only after the swap, so an
 * interruption leaves either the old or the new complete directory on disk.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw asDiskFull(err, dir) ?? err;
  }
  const old = `${tmp}.old`;
  let moved = false;
  try {
    await rename(dir, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tmp, dir);
  if (moved) await rm(old, { recursive: true, force: true });
}

export { writeFile };
