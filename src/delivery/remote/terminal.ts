/**
 * The client side of the cloud terminal protocol (docs/cloud.md): one
 * WebSocket to a server's /terminal endpoint, with the session's output,
 * its exit, and the byte count a reattach resumes from. `capsule run
 * --cloud`, the tests and bench/cloud.ts all speak through it.
 */
import WebSocket from 'ws';
import { RemoteError, normalizeServerUrl } from './client.js';
import { SUBPROTOCOL, type ExitMessage, type SessionMessage } from './terminal-protocol.js';

export { SUBPROTOCOL };
/** What a client is told first on every attach, and last when the session ends. */
export type SessionHello = SessionMessage;
export type SessionExit = ExitMessage;
/** Payload bytes per stdin message (the server takes at most 64 KiB per message). */
export const STDIN_PIECE = 32 * 1024;

export type TerminalTarget =
  | { app: string; args?: string[]; tty?: boolean; cols?: number; rows?: number }
  | { session: string; since?: number };

export interface TerminalHandlers {
  output?: (fd: 1 | 2, bytes: Buffer) => void;
  exit?: (m: SessionExit) => void;
}

/** The WebSocket URL of a target on `server` (http -> ws, https -> wss). */
export function terminalUrl(server: string, target: TerminalTarget): string {
  const base = normalizeServerUrl(server).replace(/^http/, 'ws');
  const q = new URLSearchParams();
  if ('session' in target) {
    if (target.since) q.set('since', String(target.since));
    const qs = q.toString();
    return `${base}/terminal/${encodeURIComponent(target.session)}${qs ? `?${qs}` : ''}`;
  }
  q.set('app', target.app);
  for (const a of target.args ?? []) q.append('arg', a);
  q.set('tty', target.tty ? '1' : '0');
  if (target.cols) q.set('cols', String(target.cols));
  if (target.rows) q.set('rows', String(target.rows));
  return `${base}/terminal?${q}`;
}

function remoteErrorFor(status: number, message: string): RemoteError {
  const code =
    status === 401
      ? 'UNAUTHORIZED'
      : status === 403
        ? 'FORBIDDEN'
        : status === 404
          ? 'NOT_FOUND'
          : status >= 500 && status !== 503
            ? 'UNREACHABLE'
            : 'REFUSED';
  return new RemoteError(code, message, status);
}

export class TerminalConnection {
  /** Output bytes seen so far (the replay's start plus everything since): where a reattach resumes. */
  received = 0;
  hello: SessionHello | null = null;
  exit: SessionExit | null = null;
  /** Resolves with the close code and reason when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    handlers: TerminalHandlers,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const ch = data[0];
        if (ch !== 1 && ch !== 2) return;
        this.received += data.length - 1;
        handlers.output?.(ch, data.subarray(1));
        return;
      }
      let m: { type?: string };
      try {
        m = JSON.parse(data.toString('utf8')) as { type?: string };
      } catch {
        return;
      }
      if (m.type === 'session') {
        this.hello = m as SessionHello;
        this.received = this.hello.replay.from;
      } else if (m.type === 'exit') {
        this.exit = m as SessionExit;
        handlers.exit?.(this.exit);
      }
    });
  }

  /**
   * Opens the socket and waits for the session message. A refusal (401,
   * 403, 404, 429, 503 ...) or an unreachable server is a RemoteError with
   * the server's message.
   */
  static open(
    server: string,
    token: string | null,
    target: TerminalTarget,
    handlers: TerminalHandlers = {},
  ): Promise<TerminalConnection> {
    const url = terminalUrl(server, target);
    const ws = new WebSocket(url, SUBPROTOCOL, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
    });
    const conn = new TerminalConnection(ws, handlers);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: RemoteError) => {
        if (settled) return;
        settled = true;
        ws.terminate();
        reject(e);
      };
      ws.on('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => {
          let message = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
          try {
            const j = JSON.parse(Buffer.concat(parts).toString('utf8')) as { message?: unknown };
            if (typeof j.message === 'string') message = j.message;
          } catch {
            // not the server's JSON error
          }
          fail(remoteErrorFor(res.statusCode ?? 0, `${normalizeServerUrl(server)}: ${message}`));
        });
      });
      ws.on('error', (e: Error & { code?: string }) =>
        fail(
          new RemoteError(
            'UNREACHABLE',
            `cannot reach ${normalizeServerUrl(server)}: ${e.code ?? e.message}`,
          ),
        ),
      );
      ws.on('message', () => {
        if (!settled && conn.hello) {
          settled = true;
          resolve(conn);
        }
      });
      void conn.closed.then(({ code, reason }) =>
        fail(
          new RemoteError(
            'REFUSED',
            `the server closed the terminal (${code}${reason ? `: ${reason}` : ''})`,
          ),
        ),
      );
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends stdin bytes (in pieces the server accepts); `done` when they are on the wire. */
  stdin(bytes: Uint8Array, done?: () => void): void {
    if (!this.open || bytes.length === 0) return done?.();
    for (let at = 0; at < bytes.length; at += STDIN_PIECE) {
      const piece = bytes.subarray(at, at + STDIN_PIECE);
      const frame = Buffer.allocUnsafe(piece.length + 1);
      frame[0] = 0;
      frame.set(piece, 1);
      const last = at + STDIN_PIECE >= bytes.length;
      this.ws.send(frame, { binary: true }, last ? () => done?.() : undefined);
    }
  }

  resize(cols: number, rows: number): void {
    if (this.open) this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  eof(): void {
    if (this.open) this.ws.send(JSON.stringify({ type: 'eof' }));
  }

  /** Detaches: the session goes on without us. */
  close(): void {
    this.ws.close(1000, 'detached');
  }
}
