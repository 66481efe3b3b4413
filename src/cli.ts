#!/usr/bin/env node
/** The `musicbert` command line: one sub-command per job (see src/cli/). */
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { commands } from './cli/commands.js';
import { asDiskFull, MusicBertError } from './util/errors.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: musicbert <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "musicbert <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`musicbert: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  // The command line uses every core for the native products (the library default is 1 thread,
  // like the benchmark's PyTorch peer); measured bit-identical results for 1 and 2 threads.
  if (process.env.MUSICBERT_THREADS === undefined) process.env.MUSICBERT_THREADS = String(availableParallelism());
  try {
    return (await command.run(rest)) ?? 0;
  } catch (caught) {
    // A full disk deep inside a library (fs, LanceDB) is reported like our own errors, not as a crash.
    const err = caught instanceof MusicBertError ? caught : (asDiskFull(caught) ?? caught);
    if (err instanceof MusicBertError) {
      process.stderr.write(`musicbert ${name}: error [${err.code}]: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    throw err;
  }
}

// Run only when this file is the entry point, not when imported (by bin/musicbert.js or tests).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`musicbert: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
