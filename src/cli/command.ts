import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

/** One CLI sub-command: `musicbert <name> ...`. Each lives in its own module under src/cli/. */
export interface Command {
  name: string;
  /** One line for `musicbert --help`. */
  summary: string;
  /** Full usage text for `musicbert <name> --help`. */
  usage: string;
  /** Returns the process exit code (0 when omitted). */
  run(argv: string[]): Promise<number | void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with strict checking, turning its errors into UsageError (exit code 2, no stack). */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(argv: string[], options: Options, usage: string): ParsedArgs {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as ParsedArgs['values'], positionals: r.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`, { cause: err });
  }
}

/** A string option's value (undefined when absent); rejects repeated use. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} takes one value`);
  return v;
}

/** Parse a numeric option, naming the option in the error. */
export function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}
