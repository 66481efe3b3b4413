/**
 * One writer per vector store. Two `index` runs on one store interleave their commits: Lance
 * refuses one with a raw "Incompatible transaction", or both append the same tracks and the
 * store ends up with every hit twice. The writer holds `.musicbert-writer.lock` in the store
 * directory: a small JSON of pid, host and start time, created atomically (written to a temp
 * file, then hard-linked into place, which fails if a lock exists), so a reader never sees a
 * half-written lock.
 *
 * A lock whose process is gone (killed with -9, machine rebooted) is stale and taken over: on the
 * same host the pid is checked, and with /proc also the process start time, so a reused pid is
 * not mistaken for the writer. A lock from another host is never taken over automatically.
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { StoreLockedError } from '../util/errors.js';

export const LOCK_FILE = '.musicbert-writer.lock';

export interface LockInfo {
  pid: number;
  host: string;
  /** When the lock was taken (ISO time). */
  since: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22), when known. */
  procStart?: number;
}

export interface StoreLock {
  readonly path: string;
  release(): Promise<void>;
}

/** A process's start time from /proc (Linux), or undefined where there is none. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock's holder is certainly gone (same host, and its pid is dead or now another process). */
export function isStale(info: LockInfo, host = hostname()): boolean {
  if (info.host !== host) return false;
  if (!processAlive(info.pid)) return true;
  if (info.procStart === undefined) return false;
  const now = processStart(info.pid);
  return now !== undefined && now !== info.procStart;
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.since === 'string') return o as LockInfo;
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

/**
 * Take the writer lock of the store at `dir` (created if missing), or throw StoreLockedError
 * naming the holder. A stale lock is removed and taken over.
 */
export async function acquireStoreLock(dir: string): Promise<StoreLock> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const path = join(root, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const start = processStart(process.pid);
  if (start !== undefined) me.procStart = start;
  const tmp = join(root, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(me) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        return { path, release: () => releaseLock(path, me) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released in between: try again
      const holder = parseLock(text);
      if (!holder) {
        // Locks are linked in whole, so an unparsable one was not written by us: leave it to a person.
        throw new StoreLockedError(`the writer lock ${path} is unreadable; if no "musicbert index" is running on this store, delete it and re-run`, root);
      }
      if (!isStale(holder)) {
        const who = `process ${holder.pid} on ${holder.host}, since ${holder.since}`;
        const hint = holder.host === me.host ? 'wait for it to finish (or stop it) and re-run' : `if that process is gone, delete ${path} and re-run`;
        throw new StoreLockedError(`another writer is indexing into this store (${who}): one writer at a time; ${hint}`, root);
      }
      // The holder is gone: take over its lock (only if it is still the same stale lock).
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await rm(path, { force: true });
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

async function releaseLock(path: string, me: LockInfo): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const holder = text === undefined ? undefined : parseLock(text);
  if (holder && holder.pid === me.pid && holder.host === me.host && holder.since === me.since) await rm(path, { force: true });
}
