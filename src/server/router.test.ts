import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, requestTarget, type Route } from './router.js';

const route = (method: Route['method'], path: string): Route => ({
  method,
  path,
  access: 'public',
  summary: `${method} ${path}`,
  handler: () => {},
});

const ROUTES = [
  route('GET', '/'),
  route('GET', '/health'),
  route('POST', '/objects/missing'),
  route('PUT', '/objects/{digest}'),
  route('GET', '/objects/{digest}'),
  route('GET', '/packages/{name}/{version}'),
  route('GET', '/packages/{name}/{version}/manifest'),
  route('GET', '/{app}/about'),
  route('GET', '/console'),
  route('GET', '/console/'),
];

/** What one list tried in order gives: the reference the grouped table must agree with. */
function linear(method: string, path: string): string {
  let pathMatched = false;
  for (const r of ROUTES) {
    const re = new RegExp(`^${r.path.replace(/\{[a-z]+\}/g, '([^/]+)')}$`);
    const m = re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
    return `${r.summary} ${JSON.stringify(m.slice(1))}`;
  }
  return pathMatched ? 'method_not_allowed' : 'not_found';
}

test('RouteTable: matches as one ordered list would, for every method and many paths', () => {
  const table = new RouteTable(ROUTES);
  const paths = [
    '/',
    '',
    '/health',
    '/health/',
    '/objects/missing',
    '/objects/sha256:ab',
    '/objects/',
    '/objects',
    '/objects/a/b',
    '/packages/sqlite/1.0.0',
    '/packages/sqlite/1.0.0/manifest',
    '/packages/sqlite',
    '/health/about',
    '/x/about',
    '/console',
    '/console/',
    '/nothing',
    '//objects/x',
  ];
  for (const method of ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'])
    for (const path of paths) {
      const got = table.match(method, path);
      const want = linear(method, path);
      const said = typeof got === 'string' ? got : `${got.route.summary} ${JSON.stringify(got.values)}`;
      assert.equal(said, want, `${method} ${path}`);
    }
});

test('requestTarget: the same path and query as URL parsing, for plain and hostile targets', () => {
  const fixed = [
    '/',
    '/objects/sha256:' + 'a'.repeat(64),
    '/objects/../admin/users',
    '/objects/./x',
    '/objects/.',
    '/objects/..',
    '/a/.../b',
    '/a/.b/..c',
    '//evil.example/objects/x',
    '/objects/%2e%2e/admin',
    '/objects/a%2Fb',
    '/objects/x?y=1&z=%20',
    '/objects/x#frag',
    '/a b',
    '/a\\b',
    '/é',
    "/a'b:c@d!$&()*+,;=~_-",
    'http://other.example/objects/x',
    '*',
  ];
  const alphabet = [
    '/',
    '.',
    '..',
    'a',
    '%',
    '2e',
    '?',
    '#',
    '\\',
    ' ',
    ':',
    '@',
    "'",
    '~',
    '-',
    '"',
    '{',
    '`',
  ];
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const generated = Array.from({ length: 3000 }, () => {
    let s = '/';
    const n = random() % 12;
    for (let i = 0; i < n; i++) s += alphabet[random() % alphabet.length];
    return s;
  });
  for (const raw of [...fixed, ...generated]) {
    let url: URL;
    try {
      url = new URL(raw, 'http://capsule.invalid');
    } catch {
      assert.throws(() => requestTarget(raw), TypeError, raw); // `//:x`: no valid host
      continue;
    }
    const got = requestTarget(raw);
    assert.equal(got.path, url.pathname, raw);
    assert.equal(got.query.toString(), url.searchParams.toString(), raw);
  }
});
