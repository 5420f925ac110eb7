// The baseline for bench/runtime.ts: the smallest honest runner of a WASI
// preview1 program on node:wasi. No VFS, no worker, no policy: the module is
// compiled, instantiated and started on the main thread, and the preopens map
// straight onto host directories.
//
//   node bench/node-wasi-runner.mjs [--dir HOST::GUEST]... FILE.wasm [ARGS...]
//
// The guest gets an empty environment and exactly the --dir preopens, like
// `capsule run` with a bare .wasm file. The exit code is the app's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

/* global WebAssembly */

const argv = process.argv.slice(2);
const preopens = {};
while (argv[0] === '--dir') {
  const spec = argv[1] ?? '';
  const sep = spec.indexOf('::');
  if (sep < 0) {
    process.stderr.write(`node-wasi-runner: --dir wants HOST::GUEST, got ${JSON.stringify(spec)}\n`);
    process.exit(125);
  }
  preopens[spec.slice(sep + 2)] = spec.slice(0, sep);
  argv.splice(0, 2);
}
const file = argv[0];
if (file === undefined) {
  process.stderr.write('usage: node bench/node-wasi-runner.mjs [--dir HOST::GUEST]... FILE.wasm [ARGS...]\n');
  process.exit(125);
}

const wasi = new WASI({ version: 'preview1', args: argv, env: {}, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
