import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputRing } from './output-ring.js';

const text = (r: { records: { bytes: Uint8Array }[] }) =>
  r.records.map((x) => Buffer.from(x.bytes).toString()).join('');

test('the ring keeps the newest bytes and says how many a late reader lost', () => {
  const ring = new OutputRing(8);
  ring.push(1, Buffer.from('abcd'));
  ring.push(2, Buffer.from('efgh'));
  assert.equal(text(ring.since(0)), 'abcdefgh');
  ring.push(1, Buffer.from('ij'));
  assert.equal(ring.start, 2);
  assert.equal(ring.end, 10);
  const late = ring.since(0);
  assert.equal(late.lost, 2);
  assert.equal(late.from, 2);
  assert.equal(text(late), 'cdefghij');
  assert.deepEqual(
    ring.since(5).records.map((r) => [r.fd, Buffer.from(r.bytes).toString()]),
    [
      [2, 'fgh'],
      [1, 'ij'],
    ],
  );
  assert.equal(ring.since(10).records.length, 0);
  assert.equal(ring.since(99).from, 10, 'a reader ahead of the ring is clamped to its end');
});

test('one write larger than the ring keeps only its tail', () => {
  const ring = new OutputRing(4);
  ring.push(1, Buffer.from('0123456789'));
  assert.equal(text(ring.since(0)), '6789');
  assert.equal(ring.since(0).lost, 6);
});
