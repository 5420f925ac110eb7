/**
 * The terminal endpoints: an HTTP upgrade to WebSocket (the npm `ws`
 * package), checked before the handshake completes, so a refusal is a
 * plain HTTP answer with the server's JSON error body:
 *
 *   GET /terminal?app=NAME[@VERSION]&arg=A&arg=B&tty=1&cols=80&rows=24
 *       starts a session and attaches to it
 *   GET /terminal/{id}?since=N
 *       attaches to a running (or just ended) session of one's own
 *
 * 400 bad query or subprotocol, 401 no or unknown token, 403 not entitled
 * (or not one's session, or absent: the same answer), 404 for admins when
 * absent, 429 the user's cap, 503 the host's cap or shutting down.
 *
 * After the handshake each message is rate-checked (a token bucket), size-
 * checked (ws's maxPayload) and parsed (protocol.ts); a client that breaks
 * a rule ends its own session, with the reason in the close frame, and
 * nothing else is touched.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { authenticate } from '../auth.js';
import { canSeeApp } from '../access.js';
import { HttpError, badRequest, notEntitled, notFound } from '../http-error.js';
import type { MetadataStore, User } from '../metadata/types.js';
import { NAME_RE } from '../../package/types.js';
import type { FsObjectStore } from '../../store/fs/index.js';
import { parseVersionSpec } from '../../delivery/remote/select.js';
import { prepareCloudLaunch, resolveServerPackage } from './launch.js';
import { CloseCode, ProtocolError, SUBPROTOCOL, parseClientMessage } from './protocol.js';
import type { CloudSession, TerminalClient } from './session.js';
import { SESSION_ID_RE, type SessionTable } from './sessions.js';

const MAX_ARGS = 256;
const MAX_ARG_BYTES = 4096;
const PING_MS = 30_000;

export interface TerminalContext {
  meta: MetadataStore;
  objects: FsObjectStore;
  dataDir: string;
  table: SessionTable;
}

/** A token bucket: `rate` per second, up to twice that at once. */
class Bucket {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly rate: number) {
    this.tokens = rate * 2;
  }
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate * 2, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max)
    throw badRequest(`"${name}" must be an integer in ${min}..${max}`);
  return n;
}

/** What the upgrade asks for, checked: a new session, or an existing one of the caller's. */
type Plan = { attach: () => CloudSession; since: number };

function planNew(ctx: TerminalContext, user: User, q: URLSearchParams): Plan {
  const target = q.get('app') ?? '';
  const at = target.indexOf('@');
  const name = at < 0 ? target : target.slice(0, at);
  const range = at < 0 ? undefined : target.slice(at + 1);
  if (!NAME_RE.test(name) || range === '' || (range !== undefined && !parseVersionSpec(range)))
    throw badRequest('"app" must be NAME or NAME@SPEC (a version, a range or a channel)');
  const args = q.getAll('arg');
  if (args.length > MAX_ARGS || args.some((a) => Buffer.byteLength(a) > MAX_ARG_BYTES || a.includes('\0')))
    throw badRequest(`at most ${MAX_ARGS} "arg"s of at most ${MAX_ARG_BYTES} bytes, without NUL`);
  const ttyParam = q.get('tty') ?? '0';
  if (ttyParam !== '0' && ttyParam !== '1') throw badRequest('"tty" must be 0 or 1');
  const tty = ttyParam === '1';
  const cols = intParam(q, 'cols', 1, 4096, 80);
  const rows = intParam(q, 'rows', 1, 4096, 24);
  if (!canSeeApp(ctx.meta, user, name)) throw notEntitled();
  const pkg = resolveServerPackage(ctx.meta, name, range);
  if (!pkg) {
    if (user.role === 'admin') throw notFound(`no package ${target} on this server`);
    throw notEntitled();
  }
  ctx.table.checkCaps(user.id);
  return {
    since: 0,
    attach: () => {
      ctx.table.checkCaps(user.id);
      const terminalEnv: [string, string][] = tty
        ? [
            ['TERM', 'xterm-256color'],
            ['COLUMNS', String(cols)],
            ['LINES', String(rows)],
          ]
        : [];
      const launch = prepareCloudLaunch({
        dataDir: ctx.dataDir,
        objects: ctx.objects,
        user: user.name,
        pkg,
        args,
        terminalEnv,
      });
      const session = ctx.table.start({
        userId: user.id,
        user: user.name,
        app: pkg.name,
        version: pkg.version,
        tty,
        cols,
        rows,
        launch,
      });
      // Usage reporting (docs/server.md): a cloud launch is counted by the server itself.
      ctx.meta.addLaunch({
        id: session.id,
        user: user.name,
        app: pkg.name,
        version: pkg.version,
        mode: 'cloud',
        at: session.created.toISOString(),
      });
      return session;
    },
  };
}

function planAttach(ctx: TerminalContext, user: User, id: string, q: URLSearchParams): Plan {
  if (!SESSION_ID_RE.test(id)) throw badRequest('not a session id');
  const since = intParam(q, 'since', 0, Number.MAX_SAFE_INTEGER, 0);
  const session = ctx.table.get(id);
  // Only the owner attaches: an admin may list and end sessions, never watch or type into them.
  if (!session || session.userId !== user.id) {
    if (!session && user.role === 'admin') throw notFound(`no session ${id}`);
    throw notEntitled();
  }
  if (!canSeeApp(ctx.meta, user, session.app)) throw notEntitled();
  return { since, attach: () => session };
}

/** Answers a refused upgrade with the server's JSON error, then closes the socket. */
function refuse(socket: Duplex, e: HttpError): void {
  const body = JSON.stringify({ error: e.code, message: e.message });
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\nconnection: close\r\n\r\n' +
      body,
  );
}

export class TerminalServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly ctx: TerminalContext,
    private readonly onError: (e: unknown) => void,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.table.limits.maxMessageBytes,
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  /** The HTTP server's 'upgrade' listener. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let plan: Plan;
    try {
      const url = new URL(req.url ?? '/', 'http://capsule.invalid');
      const m = /^\/terminal(?:\/([^/]*))?$/.exec(url.pathname);
      if (!m) throw new HttpError(404, 'not_found', 'WebSocket endpoints: /terminal, /terminal/{id}');
      if (req.method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'use GET to upgrade');
      const offered = req.headers['sec-websocket-protocol'];
      if (offered !== undefined && !offered.split(',').some((p) => p.trim() === SUBPROTOCOL))
        throw badRequest(`this server speaks the subprotocol ${SUBPROTOCOL}`);
      const user = authenticate(req, this.ctx.meta);
      plan =
        m[1] === undefined
          ? planNew(this.ctx, user, url.searchParams)
          : planAttach(this.ctx, user, m[1], url.searchParams);
    } catch (e) {
      if (e instanceof HttpError) refuse(socket, e);
      else {
        this.onError(e);
        refuse(socket, new HttpError(500, 'internal', 'the server failed; see its log'));
      }
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, plan));
  };

  private connected(ws: WebSocket, plan: Plan): void {
    let session: CloudSession;
    try {
      session = plan.attach();
    } catch (e) {
      const reason = e instanceof HttpError ? e.message : 'the session could not be started';
      if (!(e instanceof HttpError)) this.onError(e);
      ws.close(e instanceof HttpError && e.status === 503 ? 1013 : CloseCode.INTERNAL, reason.slice(0, 120));
      return;
    }
    this.sockets.add(ws);
    const client: TerminalClient = {
      send: (data, done) => {
        if (ws.readyState !== WebSocket.OPEN) return done?.();
        ws.send(data, { binary: typeof data !== 'string' }, done);
      },
      close: (code, reason) => {
        // Reading again, so the client's answering close frame completes the handshake.
        ws.resume();
        ws.close(code, reason.slice(0, 120));
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    };
    const bucket = new Bucket(this.ctx.table.limits.messagesPerSecond);
    let broken = false;
    const violation = (reason: string) => {
      if (broken) return;
      broken = true;
      if (session.isClient(client)) session.stop('protocol', reason);
      // A client that is no longer the session's (taken over) only loses its own socket.
      if (ws.readyState === WebSocket.OPEN) client.close(CloseCode.POLICY, reason);
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (broken) return;
      if (!bucket.take())
        return violation(`more than ${this.ctx.table.limits.messagesPerSecond} messages per second`);
      try {
        session.input(client, parseClientMessage(data, isBinary));
      } catch (e) {
        if (e instanceof ProtocolError) violation(e.message);
        else throw e;
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      violation(
        e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? `a message was larger than ${this.ctx.table.limits.maxMessageBytes} bytes`
          : `bad WebSocket frame: ${e.message}`,
      );
    });
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, PING_MS);
    ping.unref();
    ws.on('close', () => {
      clearInterval(ping);
      this.sockets.delete(ws);
      session.detach(client);
    });
    session.attach(client, plan.since);
  }

  /** Server shutdown: close every socket (sessions are ended by the table first). */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.close(CloseCode.GOING_AWAY, 'the server is stopping');
    const deadline = Date.now() + 2000;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.sockets) ws.terminate();
  }
}
