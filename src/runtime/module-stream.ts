/**
 * A module's runnable bytes, streamed. Custom sections (DWARF, names,
 * producers) change nothing about how a module runs, so a streamed run
 * compiles the module without them: this walks the section headers as the
 * bytes arrive and yields everything but custom sections, in order, for
 * V8's streaming compiler. Nothing after the data section (the last known
 * section) is read at all; a custom section before it costs only the bytes
 * around its header. What was left out is remembered, so a trap can fetch
 * the name section afterwards and tell which function it was in.
 */
import { limitMemory, ModuleFormatError } from './limits.js';

/** Where a module's bytes come from: pieces of [start, end), in order, fetched as needed. */
export interface ModuleSource {
  readonly size: number;
  range(start: number, end: number): AsyncIterable<Uint8Array>;
}

export interface CustomSection {
  name: string;
  /** Byte range of the whole section, header included. */
  start: number;
  end: number;
}

/** What the walk learned: custom sections seen, and where unread bytes begin. */
export interface ModuleLayout {
  customs: CustomSection[];
  /** Offset after the last section read; bytes from here on are all custom sections. */
  tail: number;
}

const DATA_SECTION = 11;
const MEMORY_SECTION = 5;

async function read(src: ModuleSource, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - start);
  let at = 0;
  for await (const piece of src.range(start, end)) {
    out.set(piece, at);
    at += piece.length;
  }
  if (at !== out.length) throw new ModuleFormatError('the module ended early');
  return out;
}

function leb(b: Uint8Array, at: number): [value: number, length: number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const byte = b[at + i];
    if (byte === undefined) throw new ModuleFormatError('truncated section header');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new ModuleFormatError('LEB128 too long');
}

/** Reads one section header at `at`: id, where its body starts and where it ends. */
async function header(src: ModuleSource, at: number) {
  const head = await read(src, at, Math.min(at + 6, src.size));
  const id = head[0]!;
  const [size, n] = leb(head, 1);
  const body = at + 1 + n;
  if (body + size > src.size)
    throw new ModuleFormatError(`section ${id} at ${at} runs past the end of the module`);
  return { id, body, end: body + size };
}

async function customName(src: ModuleSource, body: number, end: number): Promise<string> {
  const head = await read(src, body, Math.min(body + 5, end));
  const [len, n] = leb(head, 0);
  if (body + n + len > end) throw new ModuleFormatError('custom section name runs past its section');
  return new TextDecoder().decode(await read(src, body + n, body + n + Math.min(len, 256)));
}

/**
 * The module's bytes without its custom sections, as pieces for a streaming
 * compiler, with the memory limit applied on the way (limits.ts).
 * `layout` is filled in as the walk goes.
 */
export async function* runnableBytes(
  src: ModuleSource,
  layout: ModuleLayout,
  memoryPages?: number,
): AsyncGenerator<Uint8Array> {
  const magic = await read(src, 0, Math.min(8, src.size));
  if (magic.length < 8 || magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d)
    throw new ModuleFormatError('not a WebAssembly binary (bad magic number)');
  yield magic;
  let at = 8;
  while (at < src.size) {
    const { id, body, end } = await header(src, at);
    if (id === 0) {
      layout.customs.push({ name: await customName(src, body, end), start: at, end });
    } else if (id === MEMORY_SECTION && memoryPages !== undefined) {
      const limited = limitMemory(concat(magic, await read(src, at, end)), memoryPages);
      yield limited.subarray(8);
    } else {
      yield* src.range(at, end);
    }
    at = end;
    layout.tail = at;
    if (id === DATA_SECTION) break;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Function names from the module's "name" section (function index -> name),
 * reading only the section headers after `layout.tail` and the name section
 * itself. Empty when the module has none.
 */
export async function functionNames(src: ModuleSource, layout: ModuleLayout): Promise<Map<number, string>> {
  let section = layout.customs.find((c) => c.name === 'name');
  for (let at = layout.tail; !section && at < src.size;) {
    const { id, body, end } = await header(src, at);
    if (id === 0) {
      const c = { name: await customName(src, body, end), start: at, end };
      layout.customs.push(c);
      if (c.name === 'name') section = c;
    }
    at = end;
    layout.tail = at;
  }
  const names = new Map<number, string>();
  if (!section) return names;
  const bytes = await read(src, section.start, section.end);
  const { body } = { body: 1 + leb(bytes, 1)[1] };
  const [nameLen, nl] = leb(bytes, body);
  let p = body + nl + nameLen;
  const text = new TextDecoder();
  while (p < bytes.length) {
    const kind = bytes[p++]!;
    const [size, sl] = leb(bytes, p);
    p += sl;
    const next = p + size;
    if (kind === 1) {
      const [count, cl] = leb(bytes, p);
      let q = p + cl;
      for (let i = 0; i < count && q < next; i++) {
        const [index, il] = leb(bytes, q);
        q += il;
        const [len, ll] = leb(bytes, q);
        q += ll;
        names.set(index, text.decode(bytes.subarray(q, q + len)));
        q += len;
      }
      break;
    }
    p = next;
  }
  return names;
}
