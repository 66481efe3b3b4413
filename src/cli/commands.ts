import type { Command } from './command.js';

/** Every sub-command, in the order `musicbert --help` lists them. Add new commands here. */
export const commands: Command[] = [];
