import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineDiscipline, onlcr } from './line-discipline.js';

function tty() {
  const out = { echo: '', lines: [] as string[], eof: 0, interrupt: 0 };
  const d = new LineDiscipline({
    echo: (b) => (out.echo += Buffer.from(b).toString('utf8')),
    line: (b) => out.lines.push(Buffer.from(b).toString('utf8')),
    eof: () => out.eof++,
    interrupt: () => out.interrupt++,
  });
  return { d, out, feed: (s: string) => d.feed(Buffer.from(s, 'utf8')) };
}

test('Enter (CR or LF) hands the line over with a newline, echoed as CRLF', () => {
  const { out, feed } = tty();
  feed('select 1;\rnext\n');
  assert.deepEqual(out.lines, ['select 1;\n', 'next\n']);
  assert.equal(out.echo, 'select 1;\r\nnext\r\n');
});

test('Backspace erases whole UTF-8 characters; Ctrl-U the line; Ctrl-W a word', () => {
  const { out, feed } = tty();
  feed('héé\x7f\x7fe\r');
  assert.deepEqual(out.lines, ['he\n']);
  assert.equal(out.echo, 'héé\b \b\b \be\r\n');
  feed('abc def\x17ghi\r');
  feed('junk\x15ok\r');
  assert.deepEqual(out.lines.slice(1), ['abc ghi\n', 'ok\n']);
});

test('Ctrl-D: end of input on an empty line, the line without a newline otherwise; Ctrl-C interrupts', () => {
  const { out, feed } = tty();
  feed('part\x04');
  assert.deepEqual(out.lines, ['part']);
  feed('\x04');
  assert.equal(out.eof, 1);
  feed('x\x03ignored');
  assert.equal(out.interrupt, 1);
  assert.match(out.echo, /\^C\r\n$/);
});

test('control characters are kept and echoed as ^X; a line is at most 4095 bytes', () => {
  const { out, feed } = tty();
  feed('a\x1b[Ab\r');
  assert.deepEqual(out.lines, ['a\x1b[Ab\n']);
  assert.equal(out.echo, 'a^[[Ab\r\n');
  feed('x'.repeat(5000) + '\r');
  assert.equal(out.lines[1]!.length, 4096);
});

test('ONLCR turns LF into CRLF on output', () => {
  assert.equal(Buffer.from(onlcr(Buffer.from('a\nb\n'))).toString(), 'a\r\nb\r\n');
  const same = Buffer.from('no newline');
  assert.equal(onlcr(same), same);
});
