/**
 * The terminal protocol over WebSocket (docs/cloud.md, "Protocol"). One
 * connection is one client attached to one session.
 *
 * Binary messages carry bytes, with a one-byte channel first:
 *   0x00 stdin   client -> server
 *   0x01 stdout  server -> client
 *   0x02 stderr  server -> client
 * Text messages are JSON objects with a "type":
 *   client -> server  {"type":"resize","cols":C,"rows":R}   1 <= C, R <= 4096
 *                     {"type":"eof"}                         end of stdin
 *   server -> client  {"type":"session", ...}                first, on every attach
 *                     {"type":"exit","code":N,"reason":R,"message":M}   last
 * Anything else from a client is a protocol error: the session ends and the
 * socket closes with 1008 and the reason.
 */
import {
  SUBPROTOCOL,
  type EndReason,
  type ExitMessage,
  type SessionMessage,
} from '../../delivery/remote/terminal-protocol.js';

export { SUBPROTOCOL, type EndReason, type SessionMessage, type ExitMessage };

export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2 } as const;

/** Close codes beyond RFC 6455's: 4001 another client attached to the session. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TAKEN_OVER: 4001,
} as const;

export type ClientMessage =
  { type: 'stdin'; data: Buffer } | { type: 'resize'; cols: number; rows: number } | { type: 'eof' };

export class ProtocolError extends Error {}

const MAX_DIM = 4096;
const dim = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_DIM;

/** Parses one client message; throws ProtocolError with a reason fit for a close frame (< 123 bytes). */
export function parseClientMessage(data: Buffer, isBinary: boolean): ClientMessage {
  if (isBinary) {
    if (data.length === 0 || data[0] !== Channel.STDIN)
      throw new ProtocolError('binary messages from a client must be stdin (channel 0)');
    return { type: 'stdin', data: data.subarray(1) };
  }
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ProtocolError('a text message must be a JSON object');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ProtocolError('a text message must be a JSON object');
  const m = v as Record<string, unknown>;
  if (m.type === 'resize') {
    if (!dim(m.cols) || !dim(m.rows) || Object.keys(m).length !== 3)
      throw new ProtocolError('resize needs integer cols and rows in 1..4096, and nothing else');
    return { type: 'resize', cols: m.cols as number, rows: m.rows as number };
  }
  if (m.type === 'eof') {
    if (Object.keys(m).length !== 1) throw new ProtocolError('eof takes no fields');
    return { type: 'eof' };
  }
  throw new ProtocolError(`unknown message type ${JSON.stringify(String(m.type).slice(0, 20))}`);
}

/** A data frame: the channel byte, then the bytes. */
export function dataFrame(channel: number, bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(bytes.length + 1);
  frame[0] = channel;
  frame.set(bytes, 1);
  return frame;
}
