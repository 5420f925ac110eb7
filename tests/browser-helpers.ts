/**
 * Shared by the browser tests and bench/browser.ts: a real `capsule serve`
 * with the SQLite shell published and a user entitled to it, and Debian's
 * chromium driven by playwright-core.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { root } from './helpers.js';
import { clientHome, sqliteTree, startServe, type ServerProcess } from './server-helpers.js';

export const CHROMIUM = process.env.CAPSULE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(root, 'build/test-artifacts');

export const ADMIN = 'admin-token-for-browser-tests-0123';

export interface BrowserFixture {
  server: ServerProcess;
  url: string;
  admin: ReturnType<typeof clientHome>;
  /** A publisher's client. */
  pub: ReturnType<typeof clientHome>;
  /** Creates a user and returns their token. */
  addUser(name: string, role?: string): Promise<string>;
}

/** A server with sqlite@1.0.0 published (the shell plus /share/data.sql, read only on demand). */
export async function startFixture(dir: string): Promise<BrowserFixture> {
  const server = await startServe(join(dir, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  const { url } = server;
  const admin = clientHome(join(dir, 'admin'), ADMIN);
  const addUser = async (name: string, role = 'user') => {
    const r = await admin.run(['admin', 'user', 'add', name, '--role', role, '--server', url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { token: string }).token;
  };
  const pub = clientHome(join(dir, 'pub'), await addUser('pub', 'publisher'));
  const tree = sqliteTree(join(dir, 'tree'));
  mkdirSync(join(tree, 'share'));
  writeFileSync(join(tree, 'share/data.sql'), 'create table t(x);\ninsert into t values (40), (2);\n');
  const args = ['pack', tree, '--name', 'sqlite', '--version', '1.0.0', '--entry', '/bin/sqlite3.wasm'];
  const packed = await pub.run([...args, '--env', 'HOME=/']);
  assert.equal(packed.code, 0, packed.stderr);
  const pushed = await pub.run(['push', 'sqlite@1.0.0', '--server', url]);
  assert.equal(pushed.code, 0, pushed.stderr);
  return { server, url, admin, pub, addUser };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
}

export const terminalText = (page: Page) =>
  page
    .locator('#terminal')
    .textContent()
    .then((t) => t ?? '');

/** Waits until the terminal's text matches `re` (the guest printed it). */
export async function waitForTerminal(page: Page, re: RegExp): Promise<void> {
  await page.waitForFunction(
    ([source, flags]) =>
      new RegExp(source!, flags).test(document.getElementById('terminal')!.textContent ?? ''),
    [re.source, re.flags],
  );
}

/** Types a line into the app's input and sends it. */
export async function typeLine(page: Page, line: string): Promise<void> {
  await page.fill('#stdin', line);
  await page.press('#stdin', 'Enter');
}

/** The page's state: starting, running, ended or refused (body[data-state]). */
export async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForFunction((s) => document.body.dataset.state === s, state);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
