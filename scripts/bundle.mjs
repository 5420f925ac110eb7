// Bundles the modules that sit on the start-up path of `capsule run` into
// single files. Loading one file instead of ~30 small ESM modules saves tens
// of milliseconds on every run, in the main thread and again in the guest's
// worker, where module loading is on the critical path before the first
// guest instruction.
//
// Each bundle is CommonJS, written beside tsc's output as X.cjs, and tsc's
// X.js is replaced by a small ES module that loads X.cjs through the V8 code
// cache (src/runtime/node/code-cache.ts) and re-exports its names: importers
// are unchanged, and a run after the first skips most of the compiling.
//
// Inside a bundle, `import.meta.url` would be the bundle's location, not the
// original module's. Every bundle is written where tsc put its entry, so the
// original location of any inlined module is known: each `import.meta.url`
// is rewritten to that module's own tsc-output URL, and relative URLs such
// as new URL('./worker-main.js', import.meta.url) keep pointing at the same
// files.
import { build } from 'esbuild';
import { chmod, copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { URL, fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = (src) => join(root, 'dist', relative(root, src).replace(/\.ts$/, '.js'));

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const bundled = new Set(['valibot', 'fzstd']);
const external = Object.keys(pkg.dependencies).filter((name) => !bundled.has(name));

/** Entry, and relative imports to leave to the runtime (loaded lazily, from their own files). */
const entries = [
  // The guest's worker, with the package view and the worker's share of the entry read inlined
  // (lazily initialised: a directory run only reads their source). A bundle run's reader (and
  // valibot, which its parser needs) is loaded only for bundle runs.
  ['src/runtime/node/worker-main.ts', ['../../package/bundle/reader.js']],
  // The main thread's `run`, with the package path inlined, lazily initialised as well.
  ['src/cli/commands/run.ts', ['./run-cloud.js', '../../delivery/local/entry-warm.js']],
];

for (const [entry, lazy] of entries) {
  const entryPath = join(root, entry);
  const entryOut = out(entryPath);
  const cjsOut = entryOut.replace(/\.js$/, '.cjs');
  // The names the entry exports, for its ES module shim.
  const names = await build({
    entryPoints: [entryPath],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...external, ...lazy],
    logLevel: 'warning',
  });
  const exports = Object.values(names.metafile.outputs).flatMap((o) => o.exports ?? []);
  await build({
    entryPoints: [entryPath],
    outfile: cjsOut,
    allowOverwrite: true,
    bundle: true,
    // CommonJS, so that src/runtime/node/code-cache.ts can compile it with
    // V8's cached data from an earlier run (Node 20 offers that for scripts only).
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // npm packages stay external, except the two pure-ESM ones on every package run: bundled,
    // esbuild keeps only what is used of them (valibot's schemas), which loads in a fraction
    // of the time the whole packages take (~10 ms, in each thread).
    external,
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'lazy-modules',
        setup(b) {
          // A module in `lazy` stays in its own file, imported dynamically: a static import
          // would become a require, which on Node 20 cannot load an ES module.
          b.onResolve({ filter: /^\./ }, (args) => {
            if (!lazy.includes(args.path)) return undefined;
            if (args.kind !== 'dynamic-import')
              return { errors: [{ text: `${args.path} stays in its own file: import it dynamically` }] };
            // Relative to the bundle, which may sit in another folder than the importer.
            let path = relative(dirname(entryOut), resolve(dirname(out(args.importer)), args.path));
            if (!path.startsWith('.')) path = `./${path}`;
            return { path, external: true };
          });
        },
      },
      {
        name: 'original-import-meta-url',
        setup(b) {
          // Inside the bundle, `import.meta.url` is the URL of the entry's own tsc output
          // (__bundleUrl, passed by loadBundle). An inlined module's becomes its own URL,
          // relative to that, so new URL('./worker-main.js', import.meta.url) keeps pointing
          // at the same file.
          b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
            let contents = await readFile(args.path, 'utf8');
            if (contents.includes('import.meta.url')) {
              let url = '__bundleUrl';
              if (args.path !== entryPath) {
                let rel = relative(dirname(entryOut), out(args.path));
                if (!rel.startsWith('.')) rel = `./${rel}`;
                url = `new URL(${JSON.stringify(rel)}, __bundleUrl).href`;
              }
              contents = contents.replaceAll('import.meta.url', url);
            }
            return { contents, loader: 'ts' };
          });
        },
      },
    ],
  });
  // import() in a script compiled from V8's cached data fails on Node 20 (the script's
  // dynamic-import callback is lost), so each becomes __import(), which loadBundle provides.
  const code = await readFile(cjsOut, 'utf8');
  await writeFile(cjsOut, code.replace(/(?<![\w$.])import\(/g, '__import('));
  // The ES module at tsc's path: loads the bundle through the code cache, re-exports its names.
  let loader = relative(dirname(entryOut), join(root, 'dist/src/runtime/node/code-cache.js'));
  if (!loader.startsWith('.')) loader = `./${loader}`;
  const shim = [
    '// Written by scripts/bundle.mjs: the code is in the .cjs beside this file,',
    '// loaded through the V8 code cache (src/runtime/node/code-cache.ts).',
    `import { loadBundle } from ${JSON.stringify(loader)};`,
    `const bundle = loadBundle(new URL(${JSON.stringify(`./${basename(cjsOut)}`)}, import.meta.url));`,
  ];
  const named = exports.filter((n) => n !== 'default');
  if (named.length) shim.push(`export const { ${named.join(', ')} } = bundle;`);
  if (exports.includes('default')) shim.push('export default bundle.default;');
  await writeFile(entryOut, `${shim.join('\n')}\n`);
  await rm(`${entryOut}.map`, { force: true });
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
