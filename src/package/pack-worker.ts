/**
 * Node adapter: a compression worker for packTree. It receives a block of
 * file bytes (a SharedArrayBuffer, so nothing is copied) and the ranges of
 * the new chunks in it, encodes each, checks that each result decodes back to
 * the same bytes, and sends the stored forms back in one buffer (transferred).
 * One message per block rather than per chunk: a message costs ~80 us.
 *
 * Message in:  EncodeRequest. Message out: EncodeReply.
 */
import { parentPort } from 'node:worker_threads';
import { decodeChunkInto } from './codec.js';
import { encodeChunk, nodeDecoders, type EncodeCodec } from './codec-node.js';

export interface EncodeRequest {
  id: number;
  /** The block; plain bytes of chunk i are block[ranges[2i], ranges[2i] + ranges[2i+1]). */
  block: SharedArrayBuffer;
  ranges: number[];
  codec: EncodeCodec;
  level: number;
}

/** `stored` holds the stored forms one after another; `lengths[i]` is the length of the i-th. */
export type EncodeReply =
  { id: number; stored: Uint8Array; lengths: number[] } | { id: number; error: string };

/**
 * Encodes and checks the round trip. A chunk is stored once and shared by
 * every later package, so an encoder bug must not get past this point.
 */
export function encodeChecked(plain: Uint8Array, codec: EncodeCodec, level: number): Uint8Array {
  const stored = encodeChunk(plain, codec, level);
  if (stored[0] !== 0) {
    // Decoded into a scratch buffer kept for the thread's life: no allocation per chunk.
    if (scratch.length < plain.length) scratch = new Uint8Array(Math.max(plain.length, 2 * scratch.length));
    const back = scratch.subarray(0, plain.length);
    try {
      decodeChunkInto(stored, back, nodeDecoders);
    } catch {
      throw new Error('encoded chunk does not decode to its plain bytes');
    }
    if (Buffer.compare(back, plain) !== 0)
      throw new Error('encoded chunk does not decode to its plain bytes');
  }
  return stored;
}

let scratch = new Uint8Array(64 * 1024);

/** Encodes every range of `block`; the stored forms, concatenated, and their lengths. */
export function encodeRanges(
  block: Uint8Array,
  ranges: readonly number[],
  codec: EncodeCodec,
  level: number,
): { stored: Uint8Array; lengths: number[] } {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const at = ranges[i]!;
    const part = encodeChecked(block.subarray(at, at + ranges[i + 1]!), codec, level);
    parts.push(part);
    total += part.length;
  }
  const stored = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    stored.set(p, at);
    at += p.length;
  }
  return { stored, lengths: parts.map((p) => p.length) };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: EncodeRequest) => {
    let reply: EncodeReply;
    try {
      reply = { id: req.id, ...encodeRanges(new Uint8Array(req.block), req.ranges, req.codec, req.level) };
    } catch (e) {
      reply = { id: req.id, error: (e as Error).message };
      port.postMessage(reply);
      return;
    }
    port.postMessage(reply, [reply.stored.buffer as ArrayBuffer]);
  });
}
