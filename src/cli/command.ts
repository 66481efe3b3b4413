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
 * T. Build them with `opt.*`; `parseOptions` returns every value typed and checked, so commands
 * never parse or validate option text themselves.
 */
export interface Option<T> {
  type: 'string' | 'boolean';
  multiple?: boolean;
  read(raw: string | boolean | string[] | undefined, name: string, usage: string): T;
}

type Raw = string | boolean | string[] | undefined;

interface StringRules {
  /** Allowed values (the error lists them). */
  choices?: readonly string[];
  /** Shown after the flag when it is missing: `--out FILE is required`. */
  meta?: string;
}
interface NumberRules {
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Strictly positive (for rates and sizes where 0 means nothing). */
  positive?: boolean;
}

function present(raw: Raw, name: string, required: boolean, meta: string | undefined, usage: string): string | undefined {
  if (raw === undefined || raw === '') {
    if (required) throw new UsageError(`--${name}${meta ? ` ${meta}` : ''} is required\n\n${usage}`);
    return undefined;
  }
  if (typeof raw !== 'string') throw new UsageError(`--${name} takes one value`);
  return raw;
}

function bounds(r: NumberRules): string {
  if (r.min !== undefined && r.max !== undefined) return ` from ${r.min} to ${r.max}`;
  if (r.min !== undefined) return ` >= ${r.min}`;
  if (r.max !== undefined) return ` <= ${r.max}`;
  return r.positive ? ' > 0' : '';
}

function numeric(integer: boolean, rules: NumberRules & { default?: number; required?: boolean }): Option<number | undefined> {
  return {
    type: 'string',
    read(raw, name, usage) {
      const text = present(raw, name, rules.required === true, 'N', usage);
      if (text === undefined) return rules.default;
      const n = Number(text);
      const ok = Number.isFinite(n) && (!integer || Number.isInteger(n)) && (rules.min === undefined || n >= rules.min) && (rules.max === undefined || n <= rules.max) && (!rules.positive || n > 0);
      if (!ok) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${bounds(rules)}, got "${text}"`);
      return n;
    },
  };
}

function string(rules: StringRules & { default?: string; required?: boolean } = {}): Option<string | undefined> {
  return {
    type: 'string',
    read(raw, name, usage) {
      const text = present(raw, name, rules.required === true, rules.meta, usage);
      if (text === undefined) return rules.default;
      if (rules.choices && !rules.choices.includes(text)) throw new UsageError(`--${name} must be one of ${rules.choices.join(', ')}, got "${text}"`);
      return text;
    },
  };
}

/** Option builders. A `default` or `required: true` makes the value non-optional in the result type. */
export const opt = {
  flag(): Option<boolean> {
    return { type: 'boolean', read: (raw) => raw === true };
  },
  string: string as {
    (rules: StringRules & { required: true }): Option<string>;
    (rules: StringRules & { default: string }): Option<string>;
    (rules?: StringRules): Option<string | undefined>;
  },
  /** A repeatable string option (`--template a --template b`). */
  strings(): Option<string[]> {
    return { type: 'string', multiple: true, read: (raw) => (Array.isArray(raw) ? raw : []) };
  },
  int: ((rules: NumberRules & { default?: number; required?: boolean } = {}) => numeric(true, rules)) as {
    (rules: NumberRules & { required: true }): Option<number>;
    (rules: NumberRules & { default: number }): Option<number>;
    (rules?: NumberRules): Option<number | undefined>;
  },
  number: ((rules: NumberRules & { default?: number; required?: boolean } = {}) => numeric(false, rules)) as {
    (rules: NumberRules & { required: true }): Option<number>;
    (rules: NumberRules & { default: number }): Option<number>;
    (rules?: NumberRules): Option<number | undefined>;
  },
};

export type OptionSpecs = Record<string, Option<unknown>>;
export type OptionValues<S extends OptionSpecs> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

export interface ParsedOptions<S extends OptionSpecs> {
  values: OptionValues<S>;
  positionals: string[];
}

/**
 * util.parseArgs with strict checking, then every option read through its spec. Errors are
 * UsageErrors (exit code 2, no stack) naming the option. `positionals` bounds the bare
 * arguments (default: none allowed).
 */
export function parseOptions<S extends OptionSpecs>(argv: string[], specs: S, usage: string, positionals: { min?: number; max?: number } = { max: 0 }): ParsedOptions<S> {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.multiple ? { type: s.type, multiple: true } : { type: s.type }]));
  let r: { values: Record<string, Raw>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options: options as never, allowPositionals: true, strict: true }) as typeof r;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`, { cause: err });
  }
  if (positionals.max !== undefined && r.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${r.positionals[positionals.max]}"\n\n${usage}`);
  if (positionals.min !== undefined && r.positionals.length < positionals.min) throw new UsageError(`expected ${positionals.min} argument${positionals.min === 1 ? '' : 's'}, got ${r.positionals.length}\n\n${usage}`);
  const values = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.read(r.values[name], name, usage)]));
  return { values: values as OptionValues<S>, positionals: r.positionals };
}
