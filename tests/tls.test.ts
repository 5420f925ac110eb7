/**
 * `capsule serve --tls-cert --tls-key`: the server speaks HTTPS, and clients
 * that trust its CA (NODE_EXTRA_CA_CERTS) push, list and stream over it; a
 * client that does not trust it is refused with a message that says what to
 * do, and never falls back to a local copy as if the server were down.
 * Certificates are made for the test with openssl: a CA, and a server
 * certificate for 127.0.0.1 signed by it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { capsule, tempDir } from './helpers.js';
import { clientHome, packSqlite, push, sqliteTree, startServe } from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=capsule test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'),
  ); // prettier-ignore
  openssl(
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'),
  ); // prettier-ignore
  openssl(
    'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'),
  ); // prettier-ignore
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

test('capsule serve over TLS: trusted clients push and stream; others are refused with a hint', async () => {
  const t = tempDir();
  const certs = makeCertificates(t.path);
  const server = await startServe(
    join(t.path, 'data'),
    ['--allow-unsigned', '--tls-cert', certs.cert, '--tls-key', certs.key],
    { CAPSULE_ADMIN_TOKEN: ADMIN },
  );
  try {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.stdout(), /web console: https:\/\/127\.0\.0\.1:\d+\/console\//);
    const trusting = { NODE_EXTRA_CA_CERTS: certs.ca };
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    Object.assign(admin.env, trusting);
    await packSqlite(admin, sqliteTree(join(t.path, 'tree')));
    await push(admin, 'sqlite@1.0.0', server.url);
    const catalog = await admin.run(['catalog', '--server', server.url]);
    assert.equal(catalog.code, 0, catalog.stderr);
    assert.match(catalog.stdout, /sqlite/);

    // Streamed over HTTPS into an empty home.
    const user = clientHome(join(t.path, 'user'), ADMIN);
    Object.assign(user.env, trusting);
    const run = await user.run([
      'run',
      '--allow-unsigned',
      `${server.url}/sqlite@1.0.0`,
      '--',
      ':memory:',
      'select 6*7;',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '42');

    // The same client without the CA: refused, with what to do, and no fallback to its local copy.
    const untrusting = clientHome(join(t.path, 'user'), ADMIN);
    const refused = await untrusting.run([
      'run',
      '--allow-unsigned',
      `${server.url}/sqlite@1.0.0`,
      '--',
      ':memory:',
      'select 1;',
    ]);
    assert.notEqual(refused.code, 0);
    assert.equal(refused.stdout, '', 'no fallback run');
    assert.match(refused.stderr, /TLS certificate is not trusted/);
    assert.match(refused.stderr, /NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);

    // Plain HTTP to the TLS port gets no HTTP answer.
    const port = Number(new URL(server.url).port);
    const plain = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 5000 }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    assert.doesNotMatch(plain, /status 200/);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

test('capsule serve refuses half a TLS configuration and files that are not PEM, with 125', async () => {
  const t = tempDir();
  try {
    const data = join(t.path, 'data');
    const onlyCert = await capsule([
      'serve',
      '--port',
      '0',
      '--data',
      data,
      '--tls-cert',
      join(t.path, 'x.pem'),
    ]);
    assert.equal(onlyCert.code, 125);
    assert.match(onlyCert.stderr, /--tls-cert needs --tls-key too/);
    const missing = await capsule([
      'serve', '--port', '0', '--data', data,
      '--tls-cert', join(t.path, 'nope.pem'), '--tls-key', join(t.path, 'nope.key'),
    ]); // prettier-ignore
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /--tls-cert .*nope\.pem: ENOENT/);
    writeFileSync(join(t.path, 'junk.pem'), 'not a certificate');
    const junk = await capsule([
      'serve', '--port', '0', '--data', data,
      '--tls-cert', join(t.path, 'junk.pem'), '--tls-key', join(t.path, 'junk.pem'),
    ]); // prettier-ignore
    assert.equal(junk.code, 125);
    assert.match(junk.stderr, /not a PEM file/);
    // PEM, but a certificate that does not match the key.
    const certs = makeCertificates(t.path);
    const mismatched = await capsule([
      'serve', '--port', '0', '--data', data,
      '--tls-cert', certs.cert, '--tls-key', join(t.path, 'ca.key'),
    ]); // prettier-ignore
    assert.equal(mismatched.code, 125);
    assert.match(mismatched.stderr, /TLS certificate or key is not usable/);
    assert.doesNotMatch(mismatched.stderr, /\n\s+at /);
  } finally {
    t.cleanup();
  }
});
