// Bundles the modules that sit on the start-up path of `capsule run` into
// single files, written over tsc's output at the same paths. Loading one
// file instead of ~30 small ESM modules saves tens of milliseconds on every
// run, in the main thread and again in the guest's worker, where module
// loading is on the critical path before the first guest instruction.
//
// Inside a bundle, `import.meta.url` would be the bundle's location, not the
// original module's. Every bundle is written where tsc put its entry, so the
// original location of any inlined module is known: each `import.meta.url`
// is rewritten to that module's own tsc-output URL, and relative URLs such
// as new URL('./worker-main.js', import.meta.url) keep pointing at the same
// files.
import { build } from 'esbuild';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = (src) => join(root, 'dist', relative(root, src).replace(/\.ts$/, '.js'));

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const bundled = new Set(['valibot', 'fzstd']);
const external = Object.keys(pkg.dependencies).filter((name) => !bundled.has(name));

/** Entry, and relative imports to leave to the runtime (loaded lazily, from their own files). */
const entries = [
  ['src/runtime/node/worker-main.ts', []],
  // A bundle run's reader (and valibot, which its parser needs) is loaded only for bundle runs;
  // the store's read path is shared with worker-store.js, which the worker has loaded first.
  ['src/delivery/local/view-node.ts', ['../../package/bundle/reader.js', './worker-store.js']],
  ['src/delivery/local/worker-store.ts', []],
  ['src/cli/commands/run.ts', ['./run-package.js', './run-cloud.js', '../../delivery/local/entry-warm.js']],
  ['src/cli/commands/run-package.ts', []],
];

for (const [entry, lazy] of entries) {
  const entryPath = join(root, entry);
  const entryOut = out(entryPath);
  await build({
    entryPoints: [entryPath],
    outfile: entryOut,
    allowOverwrite: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // npm packages stay external, except the two pure-ESM ones on every package run: bundled,
    // esbuild keeps only what is used of them (valibot's schemas), which loads in a fraction
    // of the time the whole packages take (~10 ms, in each thread).
    external: [...external, ...lazy],
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'original-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
            let contents = await readFile(args.path, 'utf8');
            if (args.path !== entryPath && contents.includes('import.meta.url')) {
              let rel = relative(dirname(entryOut), out(args.path));
              if (!rel.startsWith('.')) rel = `./${rel}`;
              contents = contents.replaceAll(
                'import.meta.url',
                `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
              );
            }
            return { contents, loader: 'ts' };
          });
        },
      },
    ],
  });
}

// The browser runtime (docs/browser.md): the page's script and the guest's
// Web Worker, served by `capsule serve` from dist/browser/. platform
// 'browser' fails the build on any Node built-in; the metafile lists every
// input so tests/architecture.test.ts can check none is Node-only.
const browserOut = join(root, 'dist/browser');
const browser = await build({
  entryPoints: {
    capsule: join(root, 'src/web/runtime/page.ts'),
    'capsule-worker': join(root, 'src/web/runtime/worker.ts'),
  },
  outdir: browserOut,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
await writeFile(join(browserOut, 'meta.json'), JSON.stringify(browser.metafile));
for (const file of ['run.html', 'run.css'])
  await copyFile(join(root, 'src/web/static', file), join(browserOut, file));

// The web console (docs/console.md): its script with xterm.js, and its styles
// with xterm's, bundled into dist/console/, which `capsule serve` serves at
// /console/. Nothing comes from a CDN; the page's CSP allows only this origin.
const consoleOut = join(root, 'dist/console');
await build({
  entryPoints: { console: join(root, 'src/web/console/main.ts') },
  outdir: consoleOut,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
await build({
  entryPoints: { console: join(root, 'src/web/console/static/console.css') },
  outdir: consoleOut,
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg'])
  await copyFile(join(root, 'src/web/console/static', file), join(consoleOut, file));

// The package's bin (package.json): npx and npm run it through the shell, which needs the
// executable bit; tsc writes its output without it.
await chmod(join(root, 'dist/src/cli/main.js'), 0o755);
