#!/usr/bin/env node
/**
 * Build the optional native addon (native/gemm.c → native/build/Release/musicbert_native.node):
 * OpenBLAS products for the wasm backend (src/tensor/native.ts says why).
 *
 *   node scripts/build-native.mjs           the npm `install` script: never fails the install; on
 *                                           any problem prints one line and the wasm kernels are used
 *   node scripts/build-native.mjs --strict  `npm run build:native`: fails loudly with the build log
 *
 * Offline by construction: it uses npm's own bundled node-gyp and Node's installed headers
 * (--nodedir), and skips the build rather than let node-gyp download headers. After building it
 * loads the addon in a child process and checks one product; a broken build is deleted so nothing
 * loads it. MUSICBERT_NATIVE=0 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addon = join(nativeDir, 'build', 'Release', 'musicbert_native.node');
const logFile = join(nativeDir, 'build', 'build-native.log');
const strict = process.argv.includes('--strict');

function giveUp(reason, log = '') {
  if (log) {
    mkdirSync(dirname(logFile), { recursive: true });
    writeFileSync(logFile, log);
  }
  if (strict) {
    process.stderr.write(`${log}\nbuild:native failed: ${reason}\n`);
    process.exit(1);
  }
  process.stdout.write(`musicbert: native OpenBLAS addon not built (${reason}${log ? `; log: ${logFile}` : ''}); using the wasm kernels\n`);
  process.exit(0);
}

/** Whether an executable `name` is on PATH. */
function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

if (process.env.MUSICBERT_NATIVE === '0') giveUp('MUSICBERT_NATIVE=0');
// node-gyp compiles C with cc, links with g++ (its Makefile's LINK), runs make and gyp (python3).
const missing = ['cc', 'g++', 'make', 'python3'].filter((tool) => !onPath(tool));
if (missing.length > 0) giveUp(`${missing.join(', ')} not found; apt-get install gcc g++ make python3`);
if (!existsSync(join(nativeDir, 'binding.gyp'))) giveUp('native/binding.gyp is not in this package');

// npm's bundled node-gyp: npm tells scripts where it is; otherwise look beside this Node.
const prefix = join(dirname(process.execPath), '..');
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (p) => p && existsSync(p),
);
if (!gyp) giveUp("npm's node-gyp not found");

// Node's own headers (Debian/NodeSource: /usr/include/node); without them node-gyp would download.
const nodedir = [process.env.npm_config_nodedir, prefix].find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) giveUp(`Node headers not found under ${prefix}/include/node (install them or set npm_config_nodedir)`);

const build = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: nativeDir, encoding: 'utf8', env: { ...process.env } });
const log = `${build.stdout ?? ''}${build.stderr ?? ''}`;
if (build.error || build.status !== 0 || !existsSync(addon)) {
  const hint = /cblas\.h|-lopenblas/.test(log) ? 'OpenBLAS missing: apt-get install libopenblas-dev' : `node-gyp failed (exit ${build.status})`;
  giveUp(hint, log);
}

// Smoke test in a child process (a crash there must not take this script down): [1,2;3,4]·[5;6] + 1.
const check = `
const m = require(${JSON.stringify(addon)});
const buf = new ArrayBuffer(64); const f = new Float32Array(buf);
f.set([1, 2, 3, 4], 0); f.set([5, 6], 4); f[8] = 1;
m.gemm(buf, 1, 2, 1, 2, 0, 0, 0, 16, 24, 0, 0, 32, 0);
if (f[6] !== 18 || f[7] !== 40) throw new Error('wrong product ' + f[6] + ',' + f[7]);
process.stdout.write(m.info().corename);`;
const smoke = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
if (smoke.status !== 0) {
  rmSync(addon, { force: true });
  giveUp('the built addon failed its self-check', `${log}\n${smoke.stdout}${smoke.stderr}`);
}
process.stdout.write(`musicbert: native OpenBLAS addon built (${smoke.stdout.trim()} kernels)\n`);
