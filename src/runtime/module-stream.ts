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
import { concatBytes } from './bytes.js';
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

function checkMagic(magic: Uint8Array): Uint8Array {
  if (magic.length < 8 || magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d)
    throw new ModuleFormatError('not a WebAssembly binary (bad magic number)');
  return magic;
}

/** A section header's fields, from `head` (the up to 6 bytes at `at`) in a module of `size` bytes. */
function parseHeader(head: Uint8Array, at: number, size: number) {
  const id = head[0]!;
  const [length, n] = leb(head, 1);
  const body = at + 1 + n;
  if (body + length > size)
    throw new ModuleFormatError(`section ${id} at ${at} runs past the end of the module`);
  return { id, body, end: body + length };
}

/** Where a custom section's name is, from the up to 5 bytes at its body. */
function nameRange(head: Uint8Array, body: number, end: number): [start: number, end: number] {
  const [len, n] = leb(head, 0);
  if (body + n + len > end) throw new ModuleFormatError('custom section name runs past its section');
  return [body + n, body + n + Math.min(len, 256)];
}

/** Reads one section header at `at`: id, where its body starts and where it ends. */
async function header(src: ModuleSource, at: number) {
  return parseHeader(await read(src, at, Math.min(at + 6, src.size)), at, src.size);
}

async function customName(src: ModuleSource, body: number, end: number): Promise<string> {
  const [start, stop] = nameRange(await read(src, body, Math.min(body + 5, end)), body, end);
  return new TextDecoder().decode(await read(src, start, stop));
}

/** A known (non-custom) section: id and byte range, header included. */
export interface ModuleSection {
  id: number;
  start: number;
  end: number;
}

/**
 * The walk of runnableBytes without the bytes: the sections a run needs,
 * read from section headers only (`read` returns the module's bytes
 * [start, end), and is called for a few bytes at each header). For a
 * caller that reads the sections' bytes itself, in parallel
 * (delivery/local/entry-read.ts); `runnableOf` then puts them together.
 */
export function runnableSections(
  read: (start: number, end: number) => Uint8Array,
  size: number,
  layout: ModuleLayout,
): ModuleSection[] {
  checkMagic(read(0, Math.min(8, size)));
  const sections: ModuleSection[] = [];
  let at = 8;
  while (at < size) {
    const { id, body, end } = parseHeader(read(at, Math.min(at + 6, size)), at, size);
    if (id === 0) {
      const [start, stop] = nameRange(read(body, Math.min(body + 5, end)), body, end);
      layout.customs.push({ name: new TextDecoder().decode(read(start, stop)), start: at, end });
    } else sections.push({ id, start: at, end });
    at = end;
    layout.tail = at;
    if (id === DATA_SECTION) break;
  }
  return sections;
}

/**
 * The runnable module out of `bytes` (the whole file's offsets, with at
 * least `sections` filled in), with the memory limit applied: the same bytes
 * runnableBytes yields. When nothing was left out between the sections and
 * no limit applies, this is a view of `bytes`, not a copy.
 */
export function runnableOf(bytes: Uint8Array, sections: ModuleSection[], memoryPages?: number): Uint8Array {
  const magic = bytes.subarray(0, 8);
  const pieces: Uint8Array[] = [magic];
  let contiguous = true;
  let at = 8;
  for (const s of sections) {
    if (s.end > bytes.length) throw new ModuleFormatError('the module ended early');
    if (s.id === MEMORY_SECTION && memoryPages !== undefined) {
      pieces.push(limitMemory(concat(magic, bytes.subarray(s.start, s.end)), memoryPages).subarray(8));
      contiguous = false;
    } else pieces.push(bytes.subarray(s.start, s.end));
    if (s.start !== at) contiguous = false;
    at = s.end;
  }
  return contiguous ? bytes.subarray(0, at) : concatBytes(pieces);
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
  const magic = checkMagic(await read(src, 0, Math.min(8, src.size)));
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
