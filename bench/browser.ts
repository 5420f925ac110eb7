// Cold start in the browser: the SQLite shell streamed from a real `capsule
// serve` into a headless chromium tab (playwright-core), time to its first
// output. Each cold run gets a fresh browser context (empty HTTP cache, OPFS
// and IndexedDB); a warm run reloads the same context (the runtime's files
// and the immutable objects may come from the HTTP cache). Against it, in the
// same run: the same app as a cloud session (a WebSocket client asks the
// server to run it; time to the first output byte), and, for scale, the same
// app streamed by the CLI into a fresh CAPSULE_HOME (whole command).
//
//   node dist/bench/browser.js [--runs N] [--no-docs]
//
// Results are printed and written into docs/benchmarks.md between the
// bench:browser markers.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { tempDir } from '../tests/helpers.js';
import { clientHome } from '../tests/server-helpers.js';
import { launchChromium, startFixture } from '../tests/browser-helpers.js';
import { fmt, machine, median, root } from './workloads.js';
import { TerminalConnection } from '../src/delivery/remote/terminal.js';

/** A cloud session of the same app: WebSocket open to its first output byte, in ms. */
async function cloudStart(url: string, token: string): Promise<number> {
  const t0 = performance.now();
  let first = 0;
  let out = '';
  const conn = await TerminalConnection.open(
    url,
    token,
    { app: 'sqlite@1.0.0', args: ['-list', ':memory:', 'select 1;'], tty: false },
    {
      output: (_fd, bytes) => {
        if (!first) first = performance.now() - t0;
        out += bytes.toString('utf8');
      },
    },
  );
  conn.eof();
  await conn.closed;
  if (out.trim() !== '1') throw new Error(`cloud session printed ${JSON.stringify(out)}`);
  return first;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, 'no-docs': { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs ${values.runs}: expected a positive integer`);

interface Sample {
  /** Navigation start to the first byte the app printed (the page's own clock). */
  navToOutput: number;
  /** start() to the first output: metadata, worker boot, entry compile, guest run. */
  startToOutput: number;
  /** start() to the metadata verified. */
  metadata: number;
  fetched: number;
}

const APP_URL = '/run/sqlite@1.0.0?arg=-list&arg=:memory:&arg=select%201;';

async function sample(browser: Browser, url: string, token: string, reuse?: import('playwright-core').Page) {
  const page = reuse ?? (await (await browser.newContext()).newPage());
  if (reuse) await page.reload();
  else await page.goto(`${url}${APP_URL}#token=${token}`);
  await page.waitForFunction(() => document.body.dataset.state === 'ended');
  const s = await page.evaluate(() => {
    type Session = {
      timings: { started: number; metadata: number; firstOutput: number };
      stats(): { chunkBytes: number; metadataBytes: number };
    };
    const session = (window as unknown as { capsule: { session: Session } }).capsule.session;
    const text = document.getElementById('terminal')!.textContent;
    const st = session.stats();
    return { t: session.timings, text, fetched: st.chunkBytes + st.metadataBytes };
  });
  if (s.text?.trim() !== '1') throw new Error(`unexpected output: ${JSON.stringify(s.text)}`);
  const result: Sample = {
    navToOutput: s.t.firstOutput,
    startToOutput: s.t.firstOutput - s.t.started,
    metadata: s.t.metadata - s.t.started,
    fetched: s.fetched,
  };
  return { page, result };
}

async function main(): Promise<void> {
  const t = tempDir();
  const fx = await startFixture(t.path);
  const bob = await fx.addUser('bob');
  await fx.admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', fx.url]);
  const browser = await launchChromium();
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  const cli: number[] = [];
  const cloud: number[] = [];
  try {
    await sample(browser, fx.url, bob); // the server's first requests (page cache of its files)
    for (let i = 0; i < runs; i++) {
      const { page, result } = await sample(browser, fx.url, bob);
      cold.push(result);
      warm.push((await sample(browser, fx.url, bob, page)).result);
      await page.context().close();
      const home = clientHome(join(t.path, `cli-${i}`), bob);
      const r = await home.run([
        'run',
        '--allow-unsigned',
        `${fx.url}/sqlite@1.0.0`,
        '--',
        ':memory:',
        'select 1;',
      ]);
      if (r.code !== 0 || r.stdout.trim() !== '1') throw new Error(`capsule run failed: ${r.stderr}`);
      cli.push(r.ms);
      cloud.push(await cloudStart(fx.url, bob));
      process.stdout.write('.');
    }
  } finally {
    await browser.close();
    await fx.server.stop();
    t.cleanup();
  }
  const chromium = browser.version();
  const row = (label: string, xs: Sample[]) =>
    `| ${label} | ${fmt(median(xs.map((x) => x.navToOutput)))} | ${fmt(median(xs.map((x) => x.startToOutput)))} | ${fmt(median(xs.map((x) => x.metadata)))} | ${(median(xs.map((x) => x.fetched)) / 2 ** 20).toFixed(2)} MiB |`;
  const table = [
    `Machine: ${machine()}, chromium ${chromium} (headless). ${runs} runs, medians; server and browser on the same host.`,
    '',
    '| SQLite shell, `select 1` in memory | navigation → first output | start() → first output | start() → metadata verified | fetched |',
    '| --- | --- | --- | --- | --- |',
    row('browser, cold (fresh context)', cold),
    row('browser, warm (reload)', warm),
    `| cloud session (WebSocket open → first output; the app runs on the server) | | ${fmt(median(cloud))} | | |`,
    `| CLI \`capsule run URL/sqlite@1.0.0\`, fresh CAPSULE_HOME (whole command) | ${fmt(median(cli))} | | | |`,
  ].join('\n');
  console.log(`\n${table}`);
  if (!values['no-docs']) {
    const file = join(root, 'docs/benchmarks.md');
    const start =
      '<!-- bench:browser:start (generated by `node dist/bench/browser.js`; edit outside the markers) -->';
    const end = '<!-- bench:browser:end -->';
    const doc = readFileSync(file, 'utf8');
    const a = doc.indexOf(start);
    const b = doc.indexOf(end);
    if (a < 0 || b < 0) throw new Error('docs/benchmarks.md has no bench:browser markers');
    writeFileSync(file, `${doc.slice(0, a + start.length)}\n\n${table}\n\n${doc.slice(b)}`);
  }
}

await main();
