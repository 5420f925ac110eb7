/**
 * The web console's backend against a real `capsule serve`: password
 * sign-in, the cookie's flags, the bearer-or-cookie rule, CSRF on every
 * change made with the cookie, sign-out, the file pane's boundaries, the
 * policy API, and the console page's headers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { root, tempDir } from './helpers.js';
import { api, startServe } from './server-helpers.js';
import {
  ADMIN_PASSWORD,
  PASSWORD,
  signIn,
  startConsoleServer,
  type ConsoleFixture,
} from './console-helpers.js';

describe('console sign-in, cookies and CSRF', () => {
  const dir = tempDir('capsule-console-');
  let f: ConsoleFixture;
  before(async () => {
    f = await startConsoleServer(dir.path);
    await f.addUser('alice');
    await f.addUser('bob');
    assert.equal((await f.admin('POST', '/admin/grants', { app: 'sqlite', user: 'alice' })).status, 201);
  });
  after(async () => {
    await f?.server.stop();
    dir.cleanup();
  });

  const withCookie = (cookie: string, csrf?: string, extra: Record<string, string> = {}) => ({
    cookie,
    ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}),
    ...extra,
  });

  test('a wrong password, an unknown user and a non-JSON body are refused; no cookie is set', async () => {
    for (const [user, pw] of [
      ['alice', 'wrong password'],
      ['nobody', PASSWORD],
    ]) {
      const r = await signIn(f.url, user!, pw);
      assert.equal(r.status, 401);
      assert.equal(r.setCookie, '');
    }
    const form = await fetch(`${f.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user=alice&password=${encodeURIComponent(PASSWORD)}`,
    });
    assert.equal(form.status, 415, 'a cross-site HTML form cannot sign anyone in');
    assert.equal(form.headers.get('set-cookie'), null);
  });

  test('login from another origin is refused (login CSRF)', async () => {
    const r = await signIn(f.url, 'alice', PASSWORD, { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.setCookie, '');
  });

  test('the cookie is HttpOnly, SameSite=Strict, Path=/, not Secure over plain http; it signs requests in', async () => {
    const s = await signIn(f.url, 'alice');
    assert.equal(s.status, 200);
    const attrs = s.setCookie.split(';').map((a) => a.trim());
    assert.match(attrs[0]!, /^capsule_session=[A-Za-z0-9_-]{43}$/);
    for (const a of ['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${12 * 3600}`])
      assert.ok(attrs.includes(a), a);
    assert.ok(!attrs.includes('Secure'));
    assert.ok(s.csrf.length >= 40);
    const who = await api(f.url, 'GET', '/whoami', undefined, undefined, withCookie(s.cookie));
    assert.equal(who.status, 200);
    assert.equal((who.json.user as { name: string }).name, 'alice');
    const session = await api(f.url, 'GET', '/console/session', undefined, undefined, withCookie(s.cookie));
    assert.equal(session.json.csrf, s.csrf);
    const catalog = await api(f.url, 'GET', '/console/catalog', undefined, undefined, withCookie(s.cookie));
    const apps = catalog.json.apps as { name: string; versions: { size: number; description: string }[] }[];
    assert.deepEqual(
      apps.map((a) => a.name),
      ['sqlite'],
      'only what alice is entitled to',
    );
    assert.ok(apps[0]!.versions[0]!.size > 100_000);
    assert.match(apps[0]!.versions[0]!.description, /SQLite shell/);
    const forged = await api(f.url, 'GET', '/whoami', undefined, undefined, {
      cookie: `capsule_session=${'A'.repeat(43)}`,
    });
    assert.equal(forged.status, 401);
  });

  test('a change made with the cookie needs the CSRF token and this origin; a bearer token needs neither', async () => {
    const adminS = await signIn(f.url, 'admin', ADMIN_PASSWORD);
    assert.equal(adminS.status, 200);
    const grant = { app: 'flite', user: 'bob' };
    const noToken = await api(f.url, 'POST', '/admin/grants', undefined, grant, withCookie(adminS.cookie));
    assert.equal(noToken.status, 403);
    assert.equal(noToken.json.error, 'csrf');
    const wrong = await api(
      f.url,
      'POST',
      '/admin/grants',
      undefined,
      grant,
      withCookie(adminS.cookie, 'x'.repeat(43)),
    );
    assert.equal(wrong.status, 403);
    const otherUsers = await signIn(f.url, 'alice');
    const stolen = await api(
      f.url,
      'POST',
      '/admin/grants',
      undefined,
      grant,
      withCookie(adminS.cookie, otherUsers.csrf),
    );
    assert.equal(stolen.status, 403, "another sign-in's token is not this one's");
    const evil = await api(
      f.url,
      'POST',
      '/admin/grants',
      undefined,
      grant,
      withCookie(adminS.cookie, adminS.csrf, { origin: 'https://evil.example' }),
    );
    assert.equal(evil.status, 403);
    assert.equal((await f.admin('GET', '/admin/grants')).json.grants instanceof Array, true);
    assert.ok(
      !((await f.admin('GET', '/admin/grants')).json.grants as { app: string }[]).some(
        (g) => g.app === 'flite',
      ),
      'nothing changed',
    );
    const ok = await api(
      f.url,
      'POST',
      '/admin/grants',
      undefined,
      grant,
      withCookie(adminS.cookie, adminS.csrf, { origin: f.url }),
    );
    assert.equal(ok.status, 201);
    const bearer = await f.admin('POST', '/admin/grants/revoke', grant);
    assert.equal(bearer.status, 200, 'API clients with a token are not asked for CSRF tokens');
    // A user's own role still applies through the cookie.
    const alice = await signIn(f.url, 'alice');
    const notAdmin = await api(
      f.url,
      'POST',
      '/admin/grants',
      undefined,
      grant,
      withCookie(alice.cookie, alice.csrf),
    );
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.json.error, 'forbidden');
  });

  test('sign-out ends the sign-in on the server and clears the cookie', async () => {
    const s = await signIn(f.url, 'alice');
    const noCsrf = await api(f.url, 'POST', '/console/logout', undefined, undefined, withCookie(s.cookie));
    assert.equal(noCsrf.status, 403, 'another site cannot sign a user out');
    const out = await api(
      f.url,
      'POST',
      '/console/logout',
      undefined,
      undefined,
      withCookie(s.cookie, s.csrf),
    );
    assert.equal(out.status, 200);
    assert.match(
      out.headers.get('set-cookie') ?? '',
      /^capsule_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/,
    );
    const after = await api(f.url, 'GET', '/whoami', undefined, undefined, withCookie(s.cookie));
    assert.equal(after.status, 401, 'the old cookie no longer works');
  });

  test('the file pane: upload, list, download; own state only; hostile paths refused; downloads never render', async () => {
    const a = await signIn(f.url, 'alice');
    const b = await signIn(f.url, 'bob');
    const put = (s: typeof a, path: string, body: string | Uint8Array) =>
      api(
        f.url,
        'PUT',
        `/state/sqlite/file?path=${encodeURIComponent(path)}`,
        undefined,
        body,
        withCookie(s.cookie, s.csrf),
      );
    assert.equal((await put(a, '/in/data.csv', 'x,y\n1,2\n')).status, 201);
    assert.equal((await put(a, '/page.html', '<script>alert(1)</script>')).status, 201);
    const list = await api(f.url, 'GET', '/state/sqlite/files', undefined, undefined, withCookie(a.cookie));
    assert.deepEqual(
      (list.json.files as { path: string; size: number }[]).map((x) => [x.path, x.size]),
      [
        ['/in/data.csv', 8],
        ['/page.html', 25],
      ],
    );
    const csv = await api(
      f.url,
      'GET',
      '/state/sqlite/file?path=/in/data.csv',
      undefined,
      undefined,
      withCookie(a.cookie),
    );
    assert.equal(Buffer.from(csv.bytes).toString(), 'x,y\n1,2\n');
    assert.match(csv.headers.get('content-disposition')!, /^attachment; filename="data.csv"/);
    const html = await api(
      f.url,
      'GET',
      '/state/sqlite/file?path=/page.html&inline=1',
      undefined,
      undefined,
      withCookie(a.cookie),
    );
    assert.equal(html.headers.get('content-type'), 'application/octet-stream');
    assert.match(html.headers.get('content-disposition')!, /^attachment/);
    assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
    assert.match(html.headers.get('content-security-policy')!, /sandbox/);
    for (const bad of ['/../../etc/passwd', '/a/../b', 'relative', '/.wh.x', '/a//b', '/']) {
      const r = await put(a, bad, 'x');
      assert.equal(r.status, 400, bad);
    }
    assert.equal((await put(a, '/in/data.csv/under', 'x')).status, 409, 'a file is not a folder');
    // Bob is not entitled to sqlite: the same 403 whether or not anything is there.
    const bobs = await api(f.url, 'GET', '/state/sqlite/files', undefined, undefined, withCookie(b.cookie));
    assert.equal(bobs.status, 403);
    const bobPut = await put(b, '/x', 'x');
    assert.equal(bobPut.status, 403);
    const upNoCsrf = await api(
      f.url,
      'PUT',
      '/state/sqlite/file?path=/y',
      undefined,
      'x',
      withCookie(a.cookie),
    );
    assert.equal(upNoCsrf.status, 403, 'uploads need the CSRF token too');
    // Granted now, bob sees his own (empty) state, never alice's.
    await f.admin('POST', '/admin/grants', { app: 'sqlite', user: 'bob' });
    const bobsNow = await api(
      f.url,
      'GET',
      '/state/sqlite/files',
      undefined,
      undefined,
      withCookie(b.cookie),
    );
    assert.deepEqual(bobsNow.json.files, []);
    const notHis = await api(
      f.url,
      'GET',
      '/state/sqlite/file?path=/in/data.csv',
      undefined,
      undefined,
      withCookie(b.cookie),
    );
    assert.equal(notHis.status, 404);
    await f.admin('POST', '/admin/grants/revoke', { app: 'sqlite', user: 'bob' });
  });

  test('the policy API: admins set and lock settings, audited; others are refused', async () => {
    const set = await f.admin('POST', '/admin/policy/sqlite/set', { key: 'env.TZ', value: 'UTC' });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.equal((await f.admin('POST', '/admin/policy/sqlite/lock', { key: 'env.TZ' })).status, 200);
    const p = await f.admin('GET', '/admin/policy/sqlite');
    assert.deepEqual(p.json.policy, {
      env: { TZ: 'UTC' },
      files: {},
      locked: { env: ['TZ'], paths: [] },
      mounts: 'allow',
    });
    // The same file `capsule policy` reads with CAPSULE_HOME at the data dir (what cloud sessions compose).
    const onDisk = JSON.parse(readFileSync(join(dir.path, 'data/policy/sqlite.json'), 'utf8')) as {
      env: object;
    };
    assert.deepEqual(onDisk.env, { TZ: 'UTC' });
    assert.equal(
      (await f.admin('POST', '/admin/policy/sqlite/set', { key: 'bad key', value: 'x' })).status,
      400,
    );
    assert.equal((await f.admin('POST', '/admin/policy/sqlite/explode', { key: 'env.TZ' })).status, 400);
    const a = await signIn(f.url, 'alice');
    const refused = await api(
      f.url,
      'GET',
      '/admin/policy/sqlite',
      undefined,
      undefined,
      withCookie(a.cookie),
    );
    assert.equal(refused.status, 403);
    const log = await f.admin('GET', '/admin/audit');
    const actions = (log.json.entries as { action: string }[]).map((e) => e.action);
    assert.ok(actions.includes('policy.set') && actions.includes('policy.lock'));
  });

  test('the console page: strict CSP, cross-origin isolated, no inline script; / leads to it', async () => {
    const res = await fetch(`${f.url}/console/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /(src|href)="https?:/, 'nothing from another origin');
    const js = await fetch(`${f.url}/console/assets/console.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.equal((await fetch(`${f.url}/console/assets/..%2Fconsole.js`)).status, 404);
    const home = await fetch(`${f.url}/`, { redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/console/');
  });
});

test('behind a TLS proxy (--trust-proxy), the cookie is Secure and __Host- prefixed; without the flag the header is ignored', async () => {
  const dir = tempDir('capsule-console-proxy-');
  const server = await startServe(join(dir.path, 'data'), ['--trust-proxy'], {
    CAPSULE_ADMIN_TOKEN: 'admin-token-for-console-tests-0123',
    CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const plain = await startServe(join(dir.path, 'plain'), [], {
    CAPSULE_ADMIN_TOKEN: 'admin-token-for-console-tests-0123',
    CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  try {
    const s = await signIn(server.url, 'admin', ADMIN_PASSWORD, { 'x-forwarded-proto': 'https' });
    assert.equal(s.status, 200);
    assert.match(
      s.setCookie,
      /^__Host-capsule_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
    );
    const who = await api(server.url, 'GET', '/whoami', undefined, undefined, { cookie: s.cookie });
    assert.equal(who.status, 200);
    const p = await signIn(plain.url, 'admin', ADMIN_PASSWORD, { 'x-forwarded-proto': 'https' });
    assert.doesNotMatch(p.setCookie, /Secure/, 'an untrusted X-Forwarded-Proto changes nothing');
  } finally {
    await server.stop();
    await plain.stop();
    dir.cleanup();
  }
});

test('the console never builds markup from strings (no innerHTML, outerHTML, insertAdjacentHTML, document.write)', () => {
  const dirPath = join(root, 'src/web/console');
  for (const name of readdirSync(dirPath).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(dirPath, name), 'utf8');
    assert.doesNotMatch(
      text,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment/,
      name,
    );
  }
});
