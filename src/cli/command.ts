import { parseArgs } from 'node:util';
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

/**
 * One typed option: how util.parseArgs reads it and how its text becomes a checked value of type
 * T. Build them with `opt.*` (a `default` or `required: true` makes T non-optional);
 * `parseOptions` returns every value typed and checked, so commands never parse option text.
 */
export interface Option<T> {
  type: 'string' | 'boolean';
  multiple?: boolean;
  read(raw: Raw, name: string, usage: string): T;
}

type Raw = string | boolean | string[] | undefined;
/** `choices`: allowed values; `meta`: shown when missing (`--out FILE is required`); bounds are inclusive. */
type Rules<D> = { required?: boolean; default?: D; choices?: readonly string[]; meta?: string; min?: number; max?: number; positive?: boolean };
type Builder<D> = {
  (rules: Rules<D> & ({ required: true } | { default: D })): Option<D>;
  (rules?: Rules<D>): Option<D | undefined>;
};

function text(raw: Raw, name: string, r: Rules<unknown>, usage: string): string | undefined {
  if (raw === undefined || raw === '') {
    if (r.required) throw new UsageError(`--${name}${r.meta ? ` ${r.meta}` : ''} is required\n\n${usage}`);
    return undefined;
  }
  if (typeof raw !== 'string') throw new UsageError(`--${name} takes one value`);
  if (r.choices && !r.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${r.choices.join(', ')}, got "${raw}"`);
  return raw;
}

function numeric(integer: boolean): Builder<number> {
  return ((r: Rules<number> = {}) => ({
    type: 'string',
    read(raw: Raw, name: string, usage: string) {
      const t = text(raw, name, { ...r, meta: r.meta ?? 'N' }, usage);
      if (t === undefined) return r.default;
      const n = Number(t);
      if (Number.isFinite(n) && (!integer || Number.isInteger(n)) && !(r.min !== undefined && n < r.min) && !(r.max !== undefined && n > r.max) && !(r.positive && n <= 0)) return n;
      const bounds = r.min !== undefined && r.max !== undefined ? ` from ${r.min} to ${r.max}` : r.min !== undefined ? ` >= ${r.min}` : r.max !== undefined ? ` <= ${r.max}` : r.positive ? ' > 0' : '';
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${bounds}, got "${t}"`);
    },
  })) as Builder<number>;
}

export const opt = {
  flag: (): Option<boolean> => ({ type: 'boolean', read: (raw) => raw === true }),
  string: ((r: Rules<string> = {}) => ({ type: 'string', read: (raw: Raw, name: string, usage: string) => text(raw, name, r, usage) ?? r.default })) as Builder<string>,
  /** A repeatable string option (`--template a --template b`). */
  strings: (): Option<string[]> => ({ type: 'string', multiple: true, read: (raw) => (Array.isArray(raw) ? raw : []) }),
  int: numeric(true),
  number: numeric(false),
};

export type OptionValues<S extends Record<string, Option<unknown>>> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/**
 * util.parseArgs with strict checking, then every option read through its spec; errors are
 * UsageErrors (exit code 2, no stack) naming the option. `positionals` bounds the bare arguments
 * (default: none allowed).
 */
export function parseOptions<S extends Record<string, Option<unknown>>>(argv: string[], specs: S, usage: string, positionals: { max?: number } = { max: 0 }): { values: OptionValues<S>; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type, multiple: s.multiple === true }]));
  let r: { values: Record<string, Raw>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options: options as never, allowPositionals: true, strict: true }) as typeof r;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`, { cause: err });
  }
  if (positionals.max !== undefined && r.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${r.positionals[positionals.max]}"\n\n${usage}`);
  const values = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.read(r.values[name], name, usage)]));
  return { values: values as OptionValues<S>, positionals: r.positionals };
}
