/**
 * Node adapter: a small pool of worker threads that encode chunks, so that
 * compression (the slowest stage of packing) runs beside chunking and
 * hashing. With no workers it encodes on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { EncodeCodec } from './codec-node.js';
import { encodeRanges, type EncodeReply, type EncodeRequest } from './pack-worker.js';

interface Pending {
  resolve(stored: Uint8Array[]): void;
  reject(e: Error): void;
  worker: number;
}

export class EncoderPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(
    size: number,
    private readonly codec: EncodeCodec,
    private readonly level: number,
  ) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./pack-worker.js', import.meta.url));
      w.on('message', (reply: EncodeReply) => this.settle(reply));
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
      this.load.push(0);
    }
  }

  private settle(reply: EncodeReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.load[p.worker]!--;
    if ('error' in reply) {
      p.reject(new Error(reply.error));
      return;
    }
    p.resolve(split(reply.stored, reply.lengths));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * The stored forms of the chunks at `ranges` (offset, length pairs) of
   * `block`. Workers read `block` in place, so the caller must not change it
   * until the promise settles.
   */
  encode(block: Uint8Array, ranges: number[]): Promise<Uint8Array[]> {
    if (this.workers.length === 0) {
      try {
        const r = encodeRanges(block, ranges, this.codec, this.level);
        return Promise.resolve(split(r.stored, r.lengths));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const shared = block.buffer;
    if (!(shared instanceof SharedArrayBuffer))
      return Promise.reject(new TypeError('blocks for the encoder workers must be shared'));
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    const id = this.nextId++;
    this.load[w]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      // Offsets are relative to the SharedArrayBuffer, which the worker views whole.
      const abs = block.byteOffset === 0 ? ranges : ranges.map((v, i) => (i % 2 ? v : v + block.byteOffset));
      const req: EncodeRequest = {
        id,
        block: shared,
        ranges: abs,
        codec: this.codec,
        level: this.level,
      };
      this.workers[w]!.postMessage(req);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function split(stored: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(stored.subarray(at, at + n));
    at += n;
  }
  return out;
}
