import { Errno, Iovec } from './abi.js';
import { fsError } from '../vfs/errno.js';

/**
 * Bounds-checked access to a guest's linear memory. Every pointer and length
 * the guest hands us goes through `check`, so a wild pointer is EFAULT and
 * never a host exception or an out-of-bounds write.
 *
 * Views are cached and rebuilt only after memory.grow detaches the old buffer.
 */
export class GuestMemory {
  private buffer: ArrayBuffer = new ArrayBuffer(0);
  private u8v = new Uint8Array(0);
  private dv = new DataView(this.buffer);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly encoder = new TextEncoder();

  constructor(private readonly memory: WebAssembly.Memory) {}

  private refresh(): void {
    const buf = this.memory.buffer as ArrayBuffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.u8v = new Uint8Array(buf);
      this.dv = new DataView(buf);
    }
  }

  get u8(): Uint8Array {
    this.refresh();
    return this.u8v;
  }

  get view(): DataView {
    this.refresh();
    return this.dv;
  }

  /** Throws EFAULT unless [ptr, ptr+len) lies inside memory. ptr/len are raw i32s from the guest. */
  check(ptr: number, len: number): void {
    this.refresh();
    const p = ptr >>> 0;
    const l = len >>> 0;
    if (p + l > this.buffer.byteLength) throw fsError(Errno.FAULT);
  }

  bytes(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    return this.u8v.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.dv.getUint32(ptr >>> 0, true);
  }

  setU8(ptr: number, v: number): void {
    this.check(ptr, 1);
    this.dv.setUint8(ptr >>> 0, v);
  }

  setU16(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.dv.setUint16(ptr >>> 0, v, true);
  }

  setU32(ptr: number, v: number): void {
    this.check(ptr, 4);
    this.dv.setUint32(ptr >>> 0, v, true);
  }

  setU64(ptr: number, v: bigint): void {
    this.check(ptr, 8);
    this.dv.setBigUint64(ptr >>> 0, BigInt.asUintN(64, v), true);
  }

  /** A guest string: valid UTF-8 (else EILSEQ). NUL is left to the caller. */
  string(ptr: number, len: number): string {
    const b = this.bytes(ptr, len);
    try {
      return this.decoder.decode(b);
    } catch {
      throw fsError(Errno.ILSEQ);
    }
  }

  encode(s: string): Uint8Array {
    return this.encoder.encode(s);
  }

  /**
   * Reads an iovec array into views of guest memory. Each buffer is checked;
   * a total length above 2^32-1 cannot be reported back and is EINVAL.
   */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const n = count >>> 0;
    this.check(ptr, n * Iovec.SIZE);
    const out: Uint8Array[] = new Array(n);
    let total = 0;
    const base = ptr >>> 0;
    for (let i = 0; i < n; i++) {
      const at = base + i * Iovec.SIZE;
      const buf = this.dv.getUint32(at + Iovec.BUF, true);
      const len = this.dv.getUint32(at + Iovec.LEN, true);
      total += len;
      if (total > 0xffffffff) throw fsError(Errno.INVAL);
      out[i] = this.bytes(buf, len);
    }
    return out;
  }
}
