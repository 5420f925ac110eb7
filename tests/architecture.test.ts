import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from './helpers.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const src = join(root, 'src');
const rel = (p: string) => relative(src, p);

test('the portable layers import no Node API, so they can run in a browser', () => {
  const portable = sources(src).filter((p) => {
    const r = rel(p);
    if (r.startsWith('vfs/host/') || r.startsWith('runtime/node/')) return false;
    return r.startsWith('wasi/') || r.startsWith('vfs/') || r.startsWith('runtime/');
  });
  assert.ok(portable.length > 10);
  for (const p of portable) {
    const text = readFileSync(p, 'utf8');
    assert.doesNotMatch(text, /from '(node:|fs|path|os|worker_threads)/, `${rel(p)} imports a Node module`);
    assert.doesNotMatch(text, /\bprocess\./, `${rel(p)} uses process`);
    assert.doesNotMatch(text, /\bBuffer\b/, `${rel(p)} uses Buffer`);
  }
});

test('dependencies point downwards only', () => {
  // Bottom to top, as in DESIGN.md. wasi uses vfs's contract and errno (vfs is
  // the contract wasi calls, so it sits beside it, not above it). The store
  // names objects with package/types.ts, a file of format definitions only.
  const order = ['vfs', 'wasi', 'runtime', 'store', 'package', 'delivery', 'server', 'web', 'cli'];
  const above = (layer: string) => order.slice(order.indexOf(layer) + 1).map((l) => `${l}/`);
  const forbidden: Record<string, string[]> = Object.fromEntries(order.map((l) => [l, above(l)]));
  for (const p of sources(src)) {
    const layer = rel(p).split('/')[0]!;
    assert.ok(order.includes(layer), `unknown layer ${layer}`);
    const text = readFileSync(p, 'utf8');
    for (const f of forbidden[layer] ?? []) {
      const re = new RegExp(`from '(\\.\\./)+${f}`, 'g');
      for (const m of text.matchAll(re)) {
        const line = text.slice(text.lastIndexOf('\n', m.index) + 1, text.indexOf('\n', m.index));
        if (layer === 'store' && /^import type .* from '\.\.\/(\.\.\/)?package\/types\.js';$/.test(line))
          continue;
        if (layer === 'store' && /from '\.\.\/(\.\.\/)?package\/types\.js'/.test(line)) continue;
        assert.fail(`${rel(p)} imports ${f}: ${line}`);
      }
    }
  }
});

test('only the CLI calls process.exit', () => {
  for (const p of sources(src)) {
    if (rel(p).startsWith('cli/')) continue;
    assert.doesNotMatch(readFileSync(p, 'utf8'), /process\.exit\(/, `${rel(p)} calls process.exit`);
  }
});

test('the browser bundle imports no node: module and no Node-only source', () => {
  // scripts/bundle.mjs builds it with platform 'browser' and writes esbuild's metafile beside it.
  const meta = JSON.parse(readFileSync(join(root, 'dist/browser/meta.json'), 'utf8')) as {
    inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
    outputs: Record<string, unknown>;
  };
  const inputs = Object.keys(meta.inputs);
  const nodeOnly = /^src\/(vfs\/host|runtime\/node|store\/fs|cli|server)\/|-node\.ts$|\/node\.ts$/;
  for (const input of inputs) {
    assert.doesNotMatch(input, /^node:/, `the browser bundle includes ${input}`);
    assert.doesNotMatch(input, nodeOnly, `the browser bundle includes Node-only ${input}`);
    for (const imp of meta.inputs[input]!.imports) {
      assert.doesNotMatch(
        imp.path,
        /^node:|^(fs|path|os|crypto|worker_threads|module)$/,
        `${input} imports ${imp.path}`,
      );
    }
  }
  // The runtime core itself is in it: our WASI host and the package view's filesystems.
  for (const core of [
    'src/wasi/host.ts',
    'src/vfs/memfs.ts',
    'src/vfs/layer.ts',
    'src/vfs/union.ts',
    'src/runtime/bridge.ts',
  ])
    assert.ok(inputs.includes(core), `the browser bundle lacks ${core}`);
  for (const out of Object.keys(meta.outputs).filter((o) => o.endsWith('.js'))) {
    const text = readFileSync(join(root, out), 'utf8');
    assert.doesNotMatch(text, /(from|import|require\()\s*["']node:/, `${out} refers to a node: module`);
  }
});
