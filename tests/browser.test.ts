/**
 * The browser runtime end to end: a real `capsule serve`, Debian's chromium
 * (playwright-core), and the SQLite shell package streamed into the tab.
 * Screenshots go to build/test-artifacts/browser-*.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { capsule, tempDir, wasm } from './helpers.js';
import { api, clientHome } from './server-helpers.js';
import {
  ADMIN,
  launchChromium,
  screenshot,
  startFixture,
  terminalText,
  typeLine,
  waitForState,
  waitForTerminal,
  type BrowserFixture,
} from './browser-helpers.js';

describe('the browser runtime', () => {
  const t = tempDir();
  let fx: BrowserFixture;
  let browser: Browser;
  let bob: string;

  before(async () => {
    fx = await startFixture(t.path);
    bob = await fx.addUser('bob');
    const g = await fx.admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', fx.url]);
    assert.equal(g.code, 0, g.stderr);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await fx?.server.stop();
    t.cleanup();
  });

  /** A fresh profile (its own OPFS and IndexedDB), at /run/APP with these args, signed in as `token`. */
  async function open(app: string, args: string[], token: string | null, query = ''): Promise<Page> {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const q = new URLSearchParams(query);
    for (const a of args) q.append('arg', a);
    await page.goto(`${fx.url}/run/${app}?${q}${token ? `#token=${token}` : ''}`);
    return page;
  }

  /**
   * Waits until this browser's stored state of sqlite holds notes.db with
   * data and no journal (the app's write is saved). page.waitForFunction
   * does not await a promise, so this polls with page.evaluate, which does.
   */
  async function waitForSavedDb(page: Page): Promise<void> {
    const saved = () =>
      page.evaluate(async () => {
        type Runtime = { listState(a: string): Promise<{ path: string; size: number }[]> };
        const entries = await (
          window as unknown as { capsule: { runtime: Runtime } }
        ).capsule.runtime.listState('sqlite');
        return (
          entries.some((e) => e.path === 'notes.db' && e.size > 0) &&
          !entries.some((e) => e.path.endsWith('-journal'))
        );
      });
    while (!(await saved())) await new Promise((r) => setTimeout(r, 50));
  }

  test('the page and the runtime are served cross-origin isolated with a strict CSP', async () => {
    for (const path of ['/run/sqlite@1.0.0', '/browser/capsule.js', '/browser/capsule-worker.js']) {
      const r = await api(fx.url, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
    }
    assert.equal((await api(fx.url, 'GET', '/run/..%2Fetc')).status, 400);
    assert.equal((await api(fx.url, 'GET', '/run/%3Cscript%3E')).status, 400);
    assert.equal((await api(fx.url, 'GET', '/browser/..%2Fsrc%2Fcli%2Fmain.js')).status, 404);
    assert.equal((await api(fx.url, 'GET', '/browser/resolve/sqlite')).status, 401);
    const resolved = await api(fx.url, 'GET', '/browser/resolve/sqlite', bob);
    assert.deepEqual(resolved.json, { name: 'sqlite', version: '1.0.0' });
    assert.equal((await api(fx.url, 'GET', '/browser/resolve/sqlite@%5E9', bob)).status, 404);
  });

  test('runs the SQLite shell streamed into the tab: type SQL, see the answer', async () => {
    const page = await open('sqlite', [':memory:'], bob);
    await waitForState(page, 'running');
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    await waitForTerminal(page, /sqlite> $/);
    await typeLine(page, 'select 6*7 as answer;');
    await waitForTerminal(page, /answer[\s\S]*\b42\b/);
    // A file of the package the shell reads only now: its chunk comes on demand through the bridge.
    await typeLine(page, '.read /share/data.sql');
    await typeLine(page, 'select sum(x) as total from t;');
    await waitForTerminal(page, /total[\s\S]*\b42\b/);
    await screenshot(page, 'browser-sqlite');
    await typeLine(page, '.quit');
    await waitForState(page, 'ended');
    assert.match((await page.locator('#status').textContent()) ?? '', /sqlite@1\.0\.0: exited with code 0/);
    await page.context().close();
  });

  for (const storage of ['opfs', 'indexeddb'] as const) {
    test(`a file the app wrote persists across a page reload (${storage})`, async () => {
      const page = await open('sqlite', ['/notes.db'], bob, `state=${storage}`);
      await waitForState(page, 'running');
      await typeLine(
        page,
        "create table n(t); insert into n values ('kept in the browser'); select 'inserted';",
      );
      await waitForTerminal(page, /inserted/);
      await waitForSavedDb(page);
      assert.match((await page.locator('#state-status').textContent()) ?? '', new RegExp(storage));
      await page.reload();
      await waitForState(page, 'running');
      await typeLine(page, 'select t from n;');
      await waitForTerminal(page, /kept in the browser/);
      await screenshot(page, `browser-reload-${storage}`);
      await page.context().close();
    });
  }

  test('a state exported from the browser imports locally, and one exported locally imports in the browser', async () => {
    const page = await open('sqlite', ['/notes.db'], bob);
    await waitForState(page, 'running');
    await typeLine(
      page,
      "create table n(t); insert into n values ('written in the tab'); select 'inserted';",
    );
    await waitForTerminal(page, /inserted/);
    await waitForSavedDb(page);
    const download = page.waitForEvent('download');
    await page.click('#export');
    const file = join(t.path, 'from-browser.capstate');
    await (await download).saveAs(file);
    assert.equal(readFileSync(file).subarray(0, 8).toString(), 'CAPSTAT1');

    const local = clientHome(join(t.path, 'bob-local'), bob);
    const pulled = await local.run(['pull', `${fx.url}/sqlite@1.0.0`, '--allow-unsigned']);
    assert.equal(pulled.code, 0, pulled.stderr);
    const imported = await local.run(['state', 'import', 'sqlite', file]);
    assert.equal(imported.code, 0, imported.stderr);
    const read = await local.run(['run', 'sqlite@1.0.0', '--', '/notes.db', 'select t from n;']);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.trim(), 'written in the tab');

    const wrote = await local.run([
      'run',
      'sqlite@1.0.0',
      '--',
      '/notes.db',
      "insert into n values ('written on the command line');",
    ]);
    assert.equal(wrote.code, 0, wrote.stderr);
    const back = join(t.path, 'from-local.capstate');
    const exported = await local.run(['state', 'export', 'sqlite', back]);
    assert.equal(exported.code, 0, exported.stderr);
    await page.setInputFiles('#import', back);
    await page.waitForFunction(() =>
      /state imported/.test(document.getElementById('state-status')!.textContent ?? ''),
    );
    await page.reload();
    await waitForState(page, 'running');
    await typeLine(page, "select group_concat(t, ' + ') from n;");
    await waitForTerminal(page, /written in the tab \+ written on the command line/);

    // A damaged archive is refused whole, and the state stays as it was.
    const bad = readFileSync(back);
    bad.writeUInt8(bad.readUInt8(bad.length - 40) ^ 0xff, bad.length - 40);
    const damaged = join(t.path, 'damaged.capstate');
    writeFileSync(damaged, bad);
    await page.setInputFiles('#import', damaged);
    await page.waitForFunction(() =>
      /import refused/.test(document.getElementById('state-status')!.textContent ?? ''),
    );
    assert.match((await page.locator('#state-status').textContent()) ?? '', /not a valid state archive/);
    await screenshot(page, 'browser-state-import');
    await page.context().close();
  });

  test('a split package runs in the tab: a path outside the profile loads the secondary on demand', async () => {
    const tree = join(t.path, 'split-tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    cpSync(wasm('split_paths'), join(tree, 'bin/split_paths.wasm'));
    writeFileSync(join(tree, 'data.txt'), 'some data\n');
    const paths = ['sum', '10', 'sort', 'float', '3', 'ptr', '5', 'file', '/data.txt'];
    const reference = await capsule(['run', '--dir', `${tree}::/`, wasm('split_paths'), '--', ...paths]);
    assert.equal(reference.code, 0, reference.stderr);
    const { pub } = fx;
    const pack = ['pack', tree, '--name', 'sp', '--version', '1.0.0', '--entry', '/bin/split_paths.wasm'];
    assert.equal((await pub.run(pack)).code, 0);
    const rec = await pub.run(['profile', 'record', '--split', 'sp', '--', 'hello']);
    assert.equal(rec.code, 0, rec.stderr);
    assert.equal((await pub.run(['push', 'sp@1.0.0', '--server', fx.url])).code, 0);
    const g = await fx.admin.run(['admin', 'grant', 'sp', '--user', 'bob', '--server', fx.url]);
    assert.equal(g.code, 0, g.stderr);

    const page = await open('sp@1.0.0', paths, bob);
    await waitForState(page, 'ended');
    assert.match((await page.locator('#status').textContent()) ?? '', /sp@1\.0\.0: exited with code 0/);
    assert.equal(await terminalText(page), reference.stdout);
    await page.context().close();
  });

  test('an unentitled user gets a clear refusal, and no token asks to sign in', async () => {
    const eve = await fx.addUser('eve');
    const page = await open('sqlite', [':memory:'], eve);
    await waitForState(page, 'refused');
    const status = (await page.locator('#status').textContent()) ?? '';
    assert.match(status, /not entitled to sqlite/);
    assert.match(await terminalText(page), /ask your administrator/);
    await screenshot(page, 'browser-not-entitled');
    await page.context().close();

    const anon = await open('sqlite@1.0.0', [':memory:'], null);
    await waitForState(anon, 'refused');
    assert.match((await anon.locator('#status').textContent()) ?? '', /sign in/);
    assert.equal(await anon.locator('#signin').isVisible(), true);
    await anon.context().close();
  });

  test('a corrupt chunk from the server never reaches the guest', async () => {
    const m = await api(fx.url, 'GET', '/packages/sqlite/1.0.0/manifest', ADMIN);
    const layer = (m.json.layers as { digest: string }[])[0]!.digest;
    const index = await api(fx.url, 'GET', `/objects/${layer}`, ADMIN);
    const data = (index.json.entries as { path: string; chunks: { digest: string }[] }[]).find(
      (e) => e.path === 'share/data.sql',
    )!;
    const digest = data.chunks[0]!.digest;
    // Well-formed chunk bytes (RAW), but not the ones the digest names.
    const evil = Buffer.concat([Buffer.from([0]), Buffer.from("select 'EVIL';\n")]);

    // 1. Tampered on the way (a compromised cache or proxy in front of the server): the page's
    //    own check (decode, then SHA-256 with WebCrypto) refuses it, twice, and the guest gets EIO.
    const proxy = createServer((req, res) => {
      if (req.url === `/objects/${digest}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(evil);
        return;
      }
      const up = request(`${fx.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${proxied}/run/sqlite?arg=:memory:#token=${bob}`);
      await waitForState(page, 'running');
      await waitForTerminal(page, /sqlite> $/);
      await typeLine(page, '.read /share/data.sql');
      await waitForTerminal(page, /refused chunk sha256:[0-9a-f]{64}/);
      await typeLine(page, 'select 6*7 as answer;');
      await waitForTerminal(page, /answer[\s\S]*\b42\b/);
      const text = await terminalText(page);
      assert.doesNotMatch(text, /EVIL/);
      assert.match(text, new RegExp(`corrupt copy of ${digest}, twice \\(its bytes have another digest\\)`));
      await screenshot(page, 'browser-corrupt-chunk');
      await context.close();
    } finally {
      proxy.close();
    }

    // 2. Corrupt in the server's store: the server will not send it (500), and the guest gets EIO too.
    const hex = digest.replace(/^sha256:/, '');
    const onServer = join(t.path, 'data/objects/sha256', hex.slice(0, 2), hex);
    chmodSync(onServer, 0o644);
    writeFileSync(onServer, evil);
    const page = await open('sqlite', [':memory:'], bob);
    await waitForState(page, 'running');
    await waitForTerminal(page, /sqlite> $/);
    await typeLine(page, '.read /share/data.sql');
    await waitForTerminal(page, /refused chunk sha256:[0-9a-f]{64}/);
    assert.doesNotMatch(await terminalText(page), /EVIL/);
    await page.context().close();
  });
});
