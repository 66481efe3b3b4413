#!/usr/bin/env node
// The published entry point; runs the compiled CLI (build with `npm run build`).
import { main } from '../dist/src/cli.js';
process.exitCode = await main(process.argv.slice(2));
