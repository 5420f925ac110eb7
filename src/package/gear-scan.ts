/**
 * The FastCDC boundary scan as a WebAssembly kernel (gear-scan.wat, compiled
 * with wat2wasm; gear-scan.test.ts checks the bytes below against it and the
 * results against chunker.ts's JavaScript loop). Chunking runs on the
 * packing thread for every byte of a tree; the kernel scans at ~1.2-1.5 GB/s
 * here against ~450-500 MB/s for the JavaScript loop, which V8 cannot keep
 * in registers as well (docs/chunking.md).
 *
 * One instance per thread (module state), its memory grown to the largest
 * chunk asked for. The chunk's bytes are copied in first: a memcpy, ~1 ms
 * for the 8.6 MB of Yosys's share/.
 */

/** wat2wasm gear-scan.wat, in hex. */
const WASM_HEX =
  '0061736d01000000010a0160057f7f7f7f7f017f030201000503010001071102066d656d6f72790200047363616e0000' +
  '0a74017201017f02400340200020014f0d01200541017420002d0080084102742802006a2105200041016a2100200520' +
  '037145044020000f0b0c000b0b02400340200020024f0d01200541017420002d0080084102742802006a210520004101' +
  '6a2100200520047145044020000f0b0c000b0b20020b';

/** Where the chunk's bytes start in the kernel's memory (the gear table is below). */
const DATA = 1024;

export const GEAR_SCAN_WASM: Uint8Array<ArrayBuffer> = Uint8Array.from(WASM_HEX.match(/../g)!, (h) =>
  parseInt(h, 16),
);

interface Kernel {
  memory: WebAssembly.Memory;
  scan: (i: number, stopS: number, stopL: number, maskS: number, maskL: number) => number;
  bytes: Uint8Array;
}

let kernel: Kernel | null | undefined;

function instantiate(gear: Int32Array): Kernel | null {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(GEAR_SCAN_WASM));
    const memory = instance.exports.memory as WebAssembly.Memory;
    new Int32Array(memory.buffer, 0, 256).set(gear);
    return { memory, scan: instance.exports.scan as Kernel['scan'], bytes: new Uint8Array(memory.buffer) };
  } catch {
    return null; // no WebAssembly here: the caller's JavaScript loop does the work
  }
}

/**
 * The length of the chunk of `buf[start, start + n)`, scanning from `min`
 * with the strict mask up to `normal` and the loose one up to `n`; null when
 * the kernel is not available. `gear` is the table (the same on every call).
 */
export function gearScan(
  gear: Int32Array,
  buf: Uint8Array,
  start: number,
  min: number,
  normal: number,
  n: number,
  maskS: number,
  maskL: number,
): number | null {
  if (kernel === undefined) kernel = instantiate(gear);
  const k = kernel;
  if (k === null) return null;
  if (k.bytes.length < DATA + n) {
    k.memory.grow(Math.ceil((DATA + n - k.bytes.length) / 65536));
    k.bytes = new Uint8Array(k.memory.buffer);
  }
  k.bytes.set(buf.subarray(start + min, start + n), DATA + min);
  return k.scan(min, normal, n, maskS, maskL);
}
