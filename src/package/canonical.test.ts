import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes, canonicalJson, parseCanonical } from './canonical.js';
import { PackageError } from './errors.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('keys are sorted, whitespace is gone, undefined properties are left out', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: undefined, x: -5 } }),
    '{"a":[true,null,"x"],"b":1,"c":{"x":-5,"z":0}}',
  );
});

test('key order follows UTF-16 code units, like RFC 8785', () => {
  assert.equal(
    canonicalJson({ é: 1, z: 2, Z: 3, '\u{1f600}': 4, '\uffff': 5 }),
    '{"Z":3,"z":2,"é":1,"\u{1f600}":4,"\uffff":5}',
  );
});

test('strings keep JSON.stringify escaping and are UTF-8', () => {
  assert.equal(canonicalJson('a"\\\n\u0001é'), '"a\\"\\\\\\n\\u0001é"');
  assert.deepEqual([...canonicalBytes('é')], [0x22, 0xc3, 0xa9, 0x22]);
});

test('only safe integers are numbers', () => {
  for (const bad of [1.5, NaN, Infinity, -Infinity, -0, 2 ** 53]) {
    assert.throws(() => canonicalJson({ n: bad }), TypeError, String(bad));
  }
  assert.equal(canonicalJson(2 ** 53 - 1), '9007199254740991');
});

test('values without a JSON form are refused', () => {
  for (const bad of [undefined, [undefined], 1n, () => 0, new Date(0), new Map(), '\ud800']) {
    assert.throws(() => canonicalJson(bad), TypeError);
  }
  assert.throws(() => canonicalJson({ ['\udc00']: 1 }), TypeError);
});

test('parseCanonical accepts only the canonical bytes', () => {
  assert.deepEqual(parseCanonical(enc('{"a":1,"b":[2]}')), { a: 1, b: [2] });
  for (const bad of [
    '{"b":1,"a":2}',
    '{ "a":1}',
    '{"a":1.0}',
    '{"a":1,"a":1}',
    '\ufeff{}',
    '{"a":"\\u0041"}',
    'nope',
    '{"a":1e2}',
  ]) {
    assert.throws(
      () => parseCanonical(enc(bad)),
      (e: unknown) => e instanceof PackageError && e.code === 'NOT_CANONICAL',
      bad,
    );
  }
  assert.throws(() => parseCanonical(new Uint8Array([0x22, 0xff, 0x22])), PackageError);
});

test('an error names where the value is', () => {
  assert.throws(
    () => canonicalJson({ a: [1, { b: 1.5 }] }),
    /^TypeError: a\[1\]\.b: canonical JSON takes safe integers only/,
  );
  assert.throws(
    () => canonicalJson([{ ok: 1 }, { x: { ['\ud800']: 1 } }]),
    /^TypeError: \[1\]\.x\.\ud800: key has a lone surrogate/,
  );
  assert.throws(() => canonicalJson(2n), /^TypeError: \(root\): bigint has no canonical JSON form/);
  // The path of one error does not leak into the next value.
  assert.equal(canonicalJson({ a: [1, 2], b: { c: 3 } }), '{"a":[1,2],"b":{"c":3}}');
});
