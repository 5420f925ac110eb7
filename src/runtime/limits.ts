/**
 * Memory limits by rewriting the module: the maximum of each defined memory
 * becomes min(declared maximum, limit). The guest then sees memory.grow fail
 * (malloc returns NULL) exactly as it would on a machine with less memory,
 * instead of being killed from outside.
 */

export const WASM_PAGE = 65536;

export class ModuleFormatError extends Error {}

function readU32(b: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const byte = b[at + i];
    if (byte === undefined) throw new ModuleFormatError('truncated LEB128');
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result >>> 0, i + 1];
    shift += 7;
  }
  throw new ModuleFormatError('LEB128 too long');
}

function writeU32(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Returns a copy of the module whose memories cannot grow past maxPages.
 * Throws ModuleFormatError when the module itself needs more to start.
 */
export function limitMemory(module: Uint8Array, maxPages: number): Uint8Array {
  if (
    module.length < 8 ||
    module[0] !== 0 ||
    module[1] !== 0x61 ||
    module[2] !== 0x73 ||
    module[3] !== 0x6d
  ) {
    throw new ModuleFormatError('not a WebAssembly binary (bad magic number)');
  }
  let at = 8;
  while (at < module.length) {
    const id = module[at]!;
    const [size, sizeLen] = readU32(module, at + 1);
    const bodyStart = at + 1 + sizeLen;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > module.length) throw new ModuleFormatError('section runs past the end of the module');
    if (id === 5) {
      let p = bodyStart;
      const [count, countLen] = readU32(module, p);
      p += countLen;
      const body: number[] = writeU32(count);
      for (let i = 0; i < count; i++) {
        const flags = module[p++]!;
        if (flags & 0x04) throw new ModuleFormatError('64-bit memories are not supported');
        const [min, minLen] = readU32(module, p);
        p += minLen;
        let max = 65536;
        if (flags & 0x01) {
          const [m, mLen] = readU32(module, p);
          p += mLen;
          max = m;
        }
        if (min > maxPages) {
          throw new ModuleFormatError(
            `the module needs ${(min * WASM_PAGE) / 2 ** 20} MiB of memory at start, above the limit of ${(maxPages * WASM_PAGE) / 2 ** 20} MiB`,
          );
        }
        body.push(flags | 0x01, ...writeU32(min), ...writeU32(Math.min(max, maxPages)));
      }
      const header = [5, ...writeU32(body.length)];
      const out = new Uint8Array(module.length - (bodyEnd - at) + header.length + body.length);
      out.set(module.subarray(0, at), 0);
      out.set(header, at);
      out.set(body, at + header.length);
      out.set(module.subarray(bodyEnd), at + header.length + body.length);
      return out;
    }
    at = bodyEnd;
  }
  return module;
}
