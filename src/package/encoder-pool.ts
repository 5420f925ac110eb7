/**
 * Node adapter: a small pool of worker threads that encode chunks, so that
 * compression (the slowest stage of packing) runs beside chunking and
 * hashing. With no workers it encodes on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { EncodeCodec } from './codec-node.js';
import { encodeChecked, type EncodeReply, type EncodeRequest } from './pack-worker.js';

interface Pending {
  resolve(stored: Uint8Array): void;
  reject(e: Error): void;
}

export class EncoderPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending & { worker: number }>();
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
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(reply.stored);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * The stored form of `plain`. With workers, `plain`'s buffer is transferred
   * when `plain` spans all of it (the caller must not use it afterwards), and
   * copied otherwise.
   */
  encode(plain: Uint8Array): Promise<Uint8Array> {
    if (plain.byteOffset !== 0 || plain.byteLength !== plain.buffer.byteLength)
      plain = Uint8Array.prototype.slice.call(plain);
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(encodeChecked(plain, this.codec, this.level));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    const id = this.nextId++;
    this.load[w]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      const req: EncodeRequest = { id, plain, codec: this.codec, level: this.level };
      this.workers[w]!.postMessage(req, [plain.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
