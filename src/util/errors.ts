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
  | 'IO';

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
