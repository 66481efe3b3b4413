/**
 * Every failure the toolkit reports on purpose is a MusicBertError with a stable `code`, so callers
 * can branch on it and the CLI can print one clear line instead of a stack trace.
 */
export type ErrorCode =
  | 'AUDIO_DECODE'
  | 'AUDIO_INVALID'
  | 'DATASET'
  | 'CHECKPOINT'
  | 'CONFIG'
  | 'TRAINING_DIVERGED'
  | 'USAGE'
  | 'IO'
  | 'STORE_LOCKED'
  | 'DISK_FULL';

export class MusicBertError extends Error {
  readonly code: ErrorCode;
  /** The file or input the error is about, when there is one. */
  readonly source: string | undefined;
  constructor(code: ErrorCode, message: string, source?: string, options?: { cause?: unknown }) {
    super(source ? `${source}: ${message}` : message, options);
    this.name = new.target.name;
    this.code = code;
    this.source = source;
  }
}

/** The bytes are not audio we can decode (empty, truncated, wrong format, unsupported codec). */
export class AudioDecodeError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('AUDIO_DECODE', message, source, options);
  }
}

/** The audio decoded but its content or parameters are unusable (NaN samples, 0 channels, absurd rate). */
export class InvalidAudioError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('AUDIO_INVALID', message, source, options);
  }
}

export class DatasetError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('DATASET', message, source, options);
  }
}

export class CheckpointError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('CHECKPOINT', message, source, options);
  }
}

export class ConfigError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('CONFIG', message, source, options);
  }
}

/** Training produced a non-finite loss or gradient (usually too high a learning rate). */
export class TrainingDivergedError extends MusicBertError {
  /** The 0-based update at which it happened. */
  readonly step: number;
  constructor(message: string, step: number, source?: string) {
    super('TRAINING_DIVERGED', message, source);
    this.step = step;
  }
}

/** Bad command-line or API arguments. */
export class UsageError extends MusicBertError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, undefined, options);
  }
}

/** A file or directory the toolkit manages (e.g. a vector store) is missing, corrupt or mismatched. */
export class IoError extends MusicBertError {
  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super('IO', message, source, options);
  }
}

/** Decoded audio runs past the configured duration limit (found while decoding, before it is all in memory). */
export class AudioTooLongError extends InvalidAudioError {
  constructor(readonly limitS: number, source?: string) {
    super(`decodes to more than the ${formatDuration(limitS)} limit on audio duration (a longer clip needs a higher limit)`, source);
  }
}

/** Another process (or call) is writing to the same vector store. */
export class StoreLockedError extends MusicBertError {
  constructor(message: string, source?: string) {
    super('STORE_LOCKED', message, source);
  }
}

/**
 * The disk (or quota) filled up while writing `source`. Writes are atomic, so what was written
 * before is intact: the message says so, and that re-running resumes.
 */
export class DiskFullError extends MusicBertError {
  constructor(source: string | undefined, options?: { cause?: unknown }) {
    const what = (options?.cause as NodeJS.ErrnoException | undefined)?.code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
    super('DISK_FULL', `${what} while writing; nothing already saved was lost (writes are atomic): free some space and re-run the same command to resume`, source, options);
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const DISK_FULL_TEXT = /no space left on device|disk quota exceeded|\bENOSPC\b|\bEDQUOT\b/i;

/**
 * `err` as a DiskFullError when it is one underneath (a Node errno, or a native library's message
 * such as LanceDB's "No space left on device"), else undefined. `source` names the file or
 * directory being written when the error itself does not.
 */
export function asDiskFull(err: unknown, source?: string): DiskFullError | undefined {
  if (err instanceof DiskFullError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object') return undefined;
  const hit = (e.code !== undefined && DISK_FULL_CODES.has(e.code)) || (typeof e.message === 'string' && DISK_FULL_TEXT.test(e.message));
  if (!hit) return e.cause !== undefined && e.cause !== err ? asDiskFull(e.cause, source ?? e.path) : undefined;
  return new DiskFullError(source ?? e.path, { cause: err });
}

function formatDuration(s: number): string {
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
