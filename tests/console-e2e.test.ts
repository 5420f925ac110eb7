/**
 * The web console end to end: a real `capsule serve`, Debian's chromium
 * (playwright-core), and a person's path through it: signing in by
 * keyboard, running the SQLite shell in the cloud and reattaching after a
 * reload, making a WAV with Flite and downloading it, and an admin granting
 * an app to a group. Screenshots go to build/test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { tempDir } from './helpers.js';
import {
  ADMIN_PASSWORD,
  assertNoInjection,
  consolePage,
  launchChromium,
  screenshot,
  startConsoleServer,
  terminalText,
  waitForTerminal,
  xss,
  XSS_MARK,
  type ConsoleFixture,
} from './console-helpers.js';

describe('web console (chromium)', () => {
  const dir = tempDir('capsule-console-e2e-');
  let f: ConsoleFixture;
  let browser: Browser;
  before(async () => {
    f = await startConsoleServer(dir.path);
    await f.addUser('alice');
    assert.equal((await f.admin('POST', '/admin/groups', { name: 'staff', members: ['alice'] })).status, 200);
    assert.equal((await f.admin('POST', '/admin/grants', { app: 'sqlite', user: 'alice' })).status, 201);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await f?.server.stop();
    dir.cleanup();
  });

  const appCards = (page: Page) =>
    page
      .locator('article.app h2')
      .allInnerTexts()
      .then((names) => names.sort());

  test('sign in by keyboard; an admin grants Flite to a group in the console, and the user’s catalog changes', async () => {
    const { context, page } = await consolePage(browser, f.url, 'alice');
    assert.deepEqual(await appCards(page), ['sqlite']);
    assert.match(await page.locator('article[data-app=sqlite]').innerText(), /The SQLite shell/);
    await screenshot(page, 'catalog-before-grant');

    const admin = await consolePage(browser, f.url, 'admin', ADMIN_PASSWORD);
    await admin.page.getByRole('link', { name: 'Users and groups' }).click();
    await admin.page.getByRole('heading', { name: 'Users, groups and entitlements', level: 1 }).waitFor();
    const grantForm = admin.page.getByRole('form', { name: 'Grant an app' });
    await grantForm.getByLabel('App').selectOption('flite');
    await grantForm.getByLabel('To').selectOption('group:staff');
    await grantForm.getByRole('button', { name: 'Grant' }).click();
    await admin.page.getByRole('button', { name: 'Revoke flite from group staff' }).waitFor();
    await screenshot(admin.page, 'admin-users');
    const grants = (await f.admin('GET', '/admin/grants')).json.grants as object[];
    assert.deepEqual(grants, [
      { app: 'flite', kind: 'group', subject: 'staff' },
      { app: 'sqlite', kind: 'user', subject: 'alice' },
    ]);

    await page.reload();
    await page.getByRole('heading', { name: 'flite', level: 2 }).waitFor();
    assert.deepEqual(await appCards(page), ['flite', 'sqlite']);
    await screenshot(page, 'catalog-after-grant');
    await admin.context.close();
    await context.close();
  });

  test('run the SQLite shell in the cloud, type SQL, see the answer; a reload finds the session still there', async () => {
    const { context, page } = await consolePage(browser, f.url, 'alice');
    const card = page.locator('article[data-app=sqlite]');
    await card.getByLabel('Arguments').fill('/notes.db');
    await card.getByRole('link', { name: /^Run sqlite@1\.0\.0 in the cloud$/ }).click();
    await page.locator('#session-status', { hasText: 'running' }).waitFor();
    await waitForTerminal(page, /sqlite>/);
    await page.keyboard.type("create table t(x); insert into t values (6*7); select 'answer: ' || x from t;");
    await page.keyboard.press('Enter');
    await waitForTerminal(page, /answer: 42/).catch(async (e) => {
      await screenshot(page, 'debug');
      console.error(await terminalText(page));
      throw e;
    });
    assert.match(page.url(), /#\/cloud\/sqlite%401\.0\.0\?session=s_/, 'the URL names the session');
    await screenshot(page, 'cloud-sqlite');

    await page.reload();
    await page.locator('#session-status', { hasText: 'running' }).waitFor();
    await waitForTerminal(page, /answer: 42/);
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('select count(*) * 100 from t;');
    await page.keyboard.press('Enter');
    await waitForTerminal(page, /│\s*100\s*│/);
    await screenshot(page, 'cloud-sqlite-after-reload');

    // The catalog lists the running session; ending it from the terminal page ends it on the server.
    await page.getByRole('button', { name: 'End session' }).click();
    await page.locator('.exit', { hasText: /ended/ }).waitFor();
    const text = await terminalText(page);
    assert.match(text, /answer: 42/);
    // What the session wrote stays in alice's state: the file pane shows the database.
    await page.locator('[data-path="/notes.db"]').waitFor();
    await context.close();
  });

  test('run the same app in the browser tab from the catalog, signed in by the same cookie', async () => {
    const { context, page } = await consolePage(browser, f.url, 'alice');
    const card = page.locator('article[data-app=sqlite]');
    await card.getByLabel('Arguments').fill(':memory:');
    await card.getByRole('link', { name: 'Run sqlite@1.0.0 in this browser' }).click();
    await page.waitForURL(/\/run\/sqlite%401\.0\.0\?arg=%3Amemory%3A$/);
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    await page.fill('#stdin', "select 'in the tab: ' || (6*7);");
    await page.press('#stdin', 'Enter');
    await page.waitForFunction(() =>
      /in the tab: 42/.test(document.getElementById('terminal')!.textContent ?? ''),
    );
    await screenshot(page, 'browser-run');
    await context.close();
  });

  test('Flite in the cloud writes a WAV; the file pane plays it in the page and downloads it', async () => {
    const { context, page } = await consolePage(browser, f.url, 'alice');
    const card = page.locator('article[data-app=flite]');
    await card.getByLabel('Arguments').fill('-t "Nothing to install." -o /out/hello.wav');
    await card.getByRole('link', { name: /in the cloud$/ }).click();
    await page.locator('.exit', { hasText: 'flite exited with code 0' }).waitFor();
    const item = page.locator('[data-path="/out/hello.wav"]');
    await item.waitFor();
    const audio = item.locator('audio');
    await audio.waitFor();
    // The browser loads and decodes it: a real WAV with a duration.
    await page.waitForFunction(() => {
      const a = document.querySelector<HTMLAudioElement>('[data-path="/out/hello.wav"] audio');
      return a !== null && a.readyState >= 1 && a.duration > 0.5;
    });
    await screenshot(page, 'flite-wav');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      item.getByRole('link', { name: 'Download /out/hello.wav' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'hello.wav');
    const bytes = readFileSync((await download.path())!);
    assert.equal(bytes.subarray(0, 4).toString(), 'RIFF');
    assert.equal(bytes.subarray(8, 12).toString(), 'WAVE');
    assert.ok(bytes.length > 10_000);
    await context.close();
  });

  test('hostile text (a description, an upload’s name, a policy key, app output) shows as text and never runs', async () => {
    // A publisher's free-form description, an admin's policy key and value, a user's file name, and what an app prints.
    const { context, page } = await consolePage(browser, f.url, 'alice');
    await page.addInitScript(() => ((window as unknown as { pwned?: string }).pwned = undefined));
    const name = `${xss('file')}.txt`;
    await page.evaluate(
      async ([n, csrfPath]) => {
        const s = (await (await fetch(csrfPath!)).json()) as { csrf: string };
        const r = await fetch(`/state/sqlite/file?path=${encodeURIComponent(`/${n}`)}`, {
          method: 'PUT',
          headers: { 'x-csrf-token': s.csrf },
          body: 'hello',
        });
        if (r.status !== 201) throw new Error(`upload: ${r.status}`);
      },
      [name, '/console/session'],
    );
    assert.equal(
      (
        await f.admin('POST', '/admin/policy/sqlite/set', {
          key: 'env.<marquee>key</marquee>',
          value: xss('value'),
        })
      ).status,
      200,
    );

    await page.goto(`${f.url}/console/#/files/sqlite`);
    await page.getByText(`/${name}`, { exact: true }).waitFor();
    await assertNoInjection(page);

    await page.goto(`${f.url}/console/#/catalog`);
    const card = page.locator('article[data-app=sqlite]');
    await card.getByLabel('Arguments').fill(':memory:');
    await card.getByRole('link', { name: /in the cloud$/ }).click();
    await waitForTerminal(page, /sqlite>/);
    // Short enough that the shell's box (which wraps at 60 columns) keeps it on one line.
    await page.keyboard.type(`select '<img src=x class=${XSS_MARK} onerror=pwned=1>' as v;`);
    await page.keyboard.press('Enter');
    // The shell prints the value in a box: │ <img ...> │, as text.
    await waitForTerminal(page, /│ <img src=x class=capsule-xss-probe onerror=pwned=1> │/);
    await assertNoInjection(page);
    await screenshot(page, 'xss-terminal');
    await page.getByRole('button', { name: 'End session' }).click();
    await context.close();

    const admin = await consolePage(browser, f.url, 'admin', ADMIN_PASSWORD);
    await admin.page.addInitScript(() => ((window as unknown as { pwned?: string }).pwned = undefined));
    for (const path of ['#/admin/policy/sqlite', '#/admin/audit', '#/catalog']) {
      await admin.page.goto(`${f.url}/console/${path}`);
      await admin.page.locator('main h1').waitFor();
      await assertNoInjection(admin.page);
    }
    await admin.page.goto(`${f.url}/console/#/admin/policy/sqlite`);
    await admin.page.getByText('env.<marquee>key</marquee>', { exact: true }).waitFor();
    assert.equal(await admin.page.locator('marquee').count(), 0);
    await screenshot(admin.page, 'xss-policy');
    await admin.context.close();
  });

  test('admin pages: versions and channels, policy, sessions, usage chart, audit log', async () => {
    const { context, page } = await consolePage(browser, f.url, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Versions' }).click();
    await page.getByRole('heading', { name: 'Versions and channels' }).waitFor();
    await page.getByRole('button', { name: 'Promote sqlite 1.0.0 to the channel named above' }).click();
    await page.getByRole('button', { name: "Roll back sqlite's channel stable" }).waitFor();
    await screenshot(page, 'admin-versions');

    await page.getByRole('link', { name: 'Policy' }).click();
    const form = page.getByRole('form', { name: 'Set a value' });
    await form.getByLabel('Key').fill('env.TZ');
    await form.getByLabel('Value').fill('Europe/Paris');
    await form.getByLabel('Lock it').check();
    await form.getByRole('button', { name: 'Save setting' }).click();
    await page.getByRole('button', { name: 'Unlock env.TZ' }).waitFor();
    await screenshot(page, 'admin-policy');

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('svg.chart rect').first().waitFor();
    const label = await page.locator('svg.chart').first().getAttribute('aria-label');
    assert.match(label!, /^Launches per app: flite \d+, sqlite \d+$/);
    await screenshot(page, 'admin-usage');

    // Alice runs the shell; the admin sees her session and ends it; her terminal says so.
    const alice = await consolePage(browser, f.url, 'alice');
    await alice.page.goto(`${f.url}/console/#/cloud/sqlite?arg=:memory:`);
    await alice.page.locator('#session-status', { hasText: 'running' }).waitFor();
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('table', { name: 'Cloud sessions on this server' }).waitFor();
    const rows = await page.locator('tbody tr').allInnerTexts();
    assert.ok(
      rows.some((r) => /alice\s+sqlite@1\.0\.0/.test(r)),
      rows.join('\n'),
    );
    await screenshot(page, 'admin-sessions');
    await page.getByRole('button', { name: "End alice's session of sqlite" }).click();
    await alice.page.locator('.exit', { hasText: /ended by the administrator admin/ }).waitFor();
    await alice.context.close();

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('table', { name: 'Audit log' }).waitFor();
    const audit = await page.locator('tbody').innerText();
    for (const action of ['grant.add', 'channel.promote', 'policy.set', 'policy.lock'])
      assert.match(audit, new RegExp(action));
    await screenshot(page, 'admin-audit');
    await context.close();
  });

  test('a cross-site page cannot open a terminal with the user’s cookie (WebSocket origin check)', async () => {
    const { context, page } = await consolePage(browser, f.url, 'alice');
    const cookie = (await context.cookies()).find((c) => c.name === 'capsule_session')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'script cannot read the sign-in cookie');
    const host = new URL(f.url).host;
    const upgrade = (origin: string | null) =>
      new Promise<string>((resolve, reject) => {
        import('node:net')
          .then(({ connect }) => {
            const sock = connect(Number(host.split(':')[1]), '127.0.0.1', () => {
              sock.write(
                `GET /terminal?app=sqlite&tty=1 HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
                  'Sec-WebSocket-Protocol: capsule.terminal.v1\r\n' +
                  `${origin ? `Origin: ${origin}\r\n` : ''}Cookie: capsule_session=${cookie.value}\r\n\r\n`,
              );
            });
            let got = '';
            sock.on('data', (b) => {
              got += b.toString();
              if (got.includes('\r\n\r\n')) {
                sock.destroy();
                resolve(got.split('\r\n')[0]!);
              }
            });
            sock.on('error', reject);
          })
          .catch(reject);
      });
    assert.match(await upgrade('https://evil.example'), /^HTTP\/1\.1 403/);
    assert.match(await upgrade(null), /^HTTP\/1\.1 403/);
    assert.match(await upgrade(f.url), /^HTTP\/1\.1 101/);
    await context.close();
  });
});
