/**
 * Node adapter: a compression worker for packTree. It receives plain chunks
 * (their buffers transferred, not copied), encodes them, checks that the
 * result decodes back to the same bytes, and sends the stored form back.
 *
 * Message in:  { id: number, plain: Uint8Array, codec: EncodeCodec, level: number }
 * Message out: { id: number, stored: Uint8Array } or { id: number, error: string }
 */
import { parentPort } from 'node:worker_threads';
import { decodeChunk } from './codec.js';
import { encodeChunk, nodeDecoders, type EncodeCodec } from './codec-node.js';

export interface EncodeRequest {
  id: number;
  plain: Uint8Array;
  codec: EncodeCodec;
  level: number;
}

export type EncodeReply = { id: number; stored: Uint8Array } | { id: number; error: string };

/**
 * Encodes and checks the round trip. A chunk is stored once and shared by
 * every later package, so an encoder bug must not get past this point.
 */
export function encodeChecked(plain: Uint8Array, codec: EncodeCodec, level: number): Uint8Array {
  const stored = encodeChunk(plain, codec, level);
  if (stored[0] !== 0) {
    const back = decodeChunk(stored, nodeDecoders);
    if (Buffer.compare(back, plain) !== 0)
      throw new Error('encoded chunk does not decode to its plain bytes');
  }
  return stored;
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: EncodeRequest) => {
    let reply: EncodeReply;
    try {
      reply = { id: req.id, stored: encodeChecked(req.plain, req.codec, req.level) };
    } catch (e) {
      reply = { id: req.id, error: (e as Error).message };
      port.postMessage(reply);
      return;
    }
    port.postMessage(reply, [reply.stored.buffer as ArrayBuffer]);
  });
}
