import type { Command } from './command.js';
import { mainCommand } from './main.js';
import { featuresCommand } from './features.js';
import { evalCommand } from './eval.js';
import { askCommand, retrievalEvalCommand, searchCommand, similarCommand, tagsCommand } from './search.js';
import { indexCommand } from './indexCmd.js';
import { serveCommand } from './serve.js';
import { pretrainCommand } from './pretrain.js';
import { synthCommand } from './synth.js';
import { workerCommand } from './worker.js';

/** Every sub-command, in the order `musicbert --help` lists them. Add new commands here. */
export const commands: Command[] = [
  mainCommand,
  synthCommand,
  featuresCommand,
  pretrainCommand,
  evalCommand,
  indexCommand,
  searchCommand,
  similarCommand,
  tagsCommand,
  askCommand,
  retrievalEvalCommand,
  serveCommand,
  workerCommand,
];
