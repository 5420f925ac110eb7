/**
 * Function-level streaming, the publishing side (`capsule profile record
 * --split`). Binaryen's wasm-split does the module surgery in two steps:
 *
 *   1. `--instrument` adds a global per function, set on its first call, and
 *      an export that writes them out; capsule runs that module on the
 *      package's view with the profile run's arguments and collects the
 *      profile (runtime/split.ts readFunctionProfile);
 *   2. `--split --profile` keeps the functions that ran in the primary module
 *      and moves the rest to the secondary, leaving a placeholder import in
 *      each one's table slot.
 *
 * The package is then rewritten: the entry's file holds the primary, the
 * secondary sits beside it, and the manifest names it (SplitInfo).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packTree } from '../../package/pack.js';
import {
  compareUtf8,
  readLayerIndex,
  writeLayerIndex,
  type LayerEntry,
  type LayerIndex,
  type LayerRef,
  type SplitInfo,
} from '../../package/index.js';
import { nodeHasher } from '../../package/node.js';
import type { ObjectStore } from '../../store/types.js';
import { PLACEHOLDER_NS, PRIMARY_NS, SPLIT_EXPORT_PREFIX } from '../../runtime/split.js';

export class SplitToolError extends Error {}

/** binaryen's wasm-split; its feature detection is off, so every feature is allowed (-all). */
const WASM_SPLIT = process.env.CAPSULE_WASM_SPLIT ?? 'wasm-split';

function wasmSplit(args: string[], cwd: string): string {
  const r = spawnSync(WASM_SPLIT, ['-all', ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) {
    throw new SplitToolError(
      (r.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? "splitting needs binaryen's wasm-split (Debian: apt-get install binaryen)"
        : `wasm-split could not run: ${r.error.message}`,
    );
  }
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).split('\n').filter((l) => /error|fatal|assert/i.test(l));
    throw new SplitToolError(`wasm-split failed: ${(why[0] ?? r.stderr.trim().split('\n')[0] ?? '').trim()}`);
  }
  return r.stdout + r.stderr;
}

/** A work directory for one split; `instrument` and `split` run binaryen in it. */
export class ModuleSplitter {
  readonly dir = mkdtempSync(join(tmpdir(), 'capsule-split-'));

  constructor(module: Uint8Array) {
    writeFileSync(join(this.dir, 'entry.wasm'), module);
  }

  /** The instrumented module, to run once on the package's view. */
  instrument(): Uint8Array {
    wasmSplit(['--instrument', 'entry.wasm', '-o', 'instrumented.wasm'], this.dir);
    return readFileSync(join(this.dir, 'instrumented.wasm'));
  }

  /** Splits by the profile the instrumented run wrote. */
  split(profile: Uint8Array): { primary: Uint8Array; secondary: Uint8Array; kept: number; moved: number } {
    writeFileSync(join(this.dir, 'functions.prof'), profile);
    const log = wasmSplit(
      [
        '--split',
        'entry.wasm',
        '--profile=functions.prof',
        '-o1',
        'primary.wasm',
        '-o2',
        'secondary.wasm',
        `--export-prefix=${SPLIT_EXPORT_PREFIX}`,
        `--placeholder-namespace=${PLACEHOLDER_NS}`,
        `--import-namespace=${PRIMARY_NS}`,
        '--verbose',
      ],
      this.dir,
    );
    const count = (label: string) => {
      const line = log.split('\n').find((l) => l.startsWith(label));
      const list = line?.slice(label.length).trim() ?? '';
      return list === '' ? 0 : list.split(',').length;
    };
    return {
      primary: readFileSync(join(this.dir, 'primary.wasm')),
      secondary: readFileSync(join(this.dir, 'secondary.wasm')),
      kept: count('Keeping functions:'),
      moved: count('Splitting out functions:'),
    };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Where the secondary of `entry` lives: beside it, `x.wasm` -> `x.secondary.wasm`. */
export function secondaryPath(entry: string): string {
  return entry.endsWith('.wasm') ? `${entry.slice(0, -5)}.secondary.wasm` : `${entry}.secondary.wasm`;
}

const stripSlash = (p: string) => p.replace(/^\/+/, '');

/**
 * The package's own layers with the entry replaced by the primary and the
 * secondary added beside it: in the topmost own layer that holds the entry,
 * or, when only a dependency does, in a new layer on top.
 */
export async function splitLayers(
  store: ObjectStore,
  ownLayers: LayerRef[],
  entry: string,
  primary: Uint8Array,
  secondary: Uint8Array,
  moved: { kept: number; moved: number },
): Promise<{ layers: LayerRef[]; split: SplitInfo }> {
  const second = secondaryPath(entry);
  const staging = mkdtempSync(join(tmpdir(), 'capsule-split-tree-'));
  try {
    for (const [path, bytes] of [
      [entry, primary],
      [second, secondary],
    ] as const) {
      const host = join(staging, stripSlash(path));
      mkdirSync(dirname(host), { recursive: true });
      writeFileSync(host, bytes);
    }
    const packed = await packTree(staging, store);
    const fresh = readLayerIndex(store, packed.layer.digest);
    const files = fresh.entries.filter((e) => e.type === 'file');
    const layers = [...ownLayers];
    const at = findLast(layers, (l) =>
      readLayerIndex(store, l.digest).entries.some((e) => e.path === stripSlash(entry)),
    );
    if (at < 0) {
      layers.push(packed.layer);
    } else {
      const index = readLayerIndex(store, layers[at]!.digest);
      if (index.entries.some((e) => e.path === stripSlash(second)))
        throw new SplitToolError(
          `${second} already exists in the package; cannot place the secondary module there`,
        );
      const rewritten = replaceFiles(index, files);
      const digest = writeLayerIndex(store, rewritten, nodeHasher);
      const size = rewritten.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
      layers[at] = { digest, size, entries: rewritten.entries.length };
    }
    return {
      layers,
      split: { secondary: second, primaryFunctions: moved.kept, secondaryFunctions: moved.moved },
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function findLast<T>(list: T[], pred: (t: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i]!)) return i;
  return -1;
}

/** `index` with these file entries put in (replacing any of the same path), still sorted. */
function replaceFiles(index: LayerIndex, files: LayerEntry[]): LayerIndex {
  const byPath = new Map(index.entries.map((e) => [e.path, e]));
  for (const f of files) {
    const old = byPath.get(f.path);
    byPath.set(f.path, old ? { ...f, mode: old.mode } : f);
  }
  const entries = [...byPath.values()].sort((a, b) => compareUtf8(a.path, b.path));
  return { ...index, entries };
}
