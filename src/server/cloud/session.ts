/**
 * One cloud session: an app running on the server in a worker (the same
 * runtime as `capsule run`), with its own limits, a bounded buffer of its
 * recent output, and at most one client attached at a time. It outlives its
 * clients: a client that goes away detaches, another can attach by id and
 * gets the buffered output replayed. A session detached for longer than the
 * idle timeout is ended.
 */
import { PassThrough } from 'node:stream';
import { runSession, type SessionResult } from '../../runtime/node/session.js';
import type { CloudLimits } from './limits.js';
import type { CloudLaunch } from './launch.js';
import { LineDiscipline, onlcr } from './line-discipline.js';
import { OutputRing } from './output-ring.js';
import {
  Channel,
  CloseCode,
  dataFrame,
  type ClientMessage,
  type EndReason,
  type ExitMessage,
  type SessionMessage,
} from './protocol.js';

/** The attached client, as the session sees it (terminal.ts wraps a WebSocket). */
export interface TerminalClient {
  send(data: Buffer | string, done?: (err?: Error) => void): void;
  close(code: number, reason: string): void;
  /** Stop / start reading from the client (stdin back-pressure). */
  pause(): void;
  resume(): void;
}

export interface SessionInfo {
  id: string;
  user: string;
  app: string;
  version: string;
  state: 'running' | 'ended';
  attached: boolean;
  tty: boolean;
  cols: number;
  rows: number;
  created: string;
  /** Last input, output, attach or detach. */
  lastActivity: string;
  /** Since when no client is attached (null while one is). */
  detachedSince: string | null;
  outputBytes: number;
  exit: Omit<ExitMessage, 'type'> | null;
}

export interface CloudSessionInit {
  id: string;
  userId: number;
  user: string;
  app: string;
  version: string;
  tty: boolean;
  cols: number;
  rows: number;
  limits: CloudLimits;
  launch: CloudLaunch;
  /** Called once when the app has ended (the table updates its counts). */
  onEnd: (s: CloudSession) => void;
}

/** Bytes of stdin waiting for the guest before the client is paused. */
const STDIN_WINDOW = 1024 * 1024;

const EXIT_CODES: Record<EndReason, number> = {
  exit: 0,
  trap: 134,
  fail: 125,
  timeout: 124,
  cpu: 124,
  idle: 143,
  interrupt: 130,
  ended: 143,
  shutdown: 143,
  protocol: 143,
};

export class CloudSession {
  readonly id: string;
  readonly userId: number;
  readonly user: string;
  readonly app: string;
  readonly version: string;
  readonly tty: boolean;
  readonly created = new Date();
  cols: number;
  rows: number;
  private lastActivity = Date.now();
  private detachedSince: number | null = Date.now();
  private readonly ring: OutputRing;
  private readonly stdin = new PassThrough({ highWaterMark: STDIN_WINDOW });
  private readonly discipline: LineDiscipline | null;
  private readonly abort = new AbortController();
  private client: TerminalClient | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Why we stopped it, when we did (the runtime only reports a signal). */
  private stopReason: { reason: EndReason; message: string } | null = null;
  exit: Omit<ExitMessage, 'type'> | null = null;
  /** Resolves when the app has ended. */
  readonly done: Promise<void>;

  constructor(private readonly init: CloudSessionInit) {
    this.id = init.id;
    this.userId = init.userId;
    this.user = init.user;
    this.app = init.app;
    this.version = init.version;
    this.tty = init.tty;
    this.cols = init.cols;
    this.rows = init.rows;
    this.ring = new OutputRing(init.limits.bufferBytes);
    this.discipline = init.tty
      ? new LineDiscipline({
          echo: (b) => this.emit(1, b),
          line: (b) => this.toGuest(b),
          eof: () => this.stdin.end(),
          interrupt: () => this.stop('interrupt', 'interrupted (Ctrl-C)'),
        })
      : null;
    const { limits } = init;
    this.done = runSession({
      ...init.launch.options,
      memoryMiB: limits.memoryMiB,
      timeoutSeconds: limits.wallSeconds,
      cpuSeconds: limits.cpuSeconds,
      resourceLimits: { maxOldGenerationSizeMb: limits.heapMiB },
      handleSignals: false,
      abort: this.abort.signal,
      stdio: {
        stdin: this.stdin,
        tty: [init.tty, init.tty, init.tty],
        output: (fd, data, taken) => this.emit(fd, init.tty ? onlcr(data) : data, taken),
      },
    }).then(
      (r) => this.ended(r),
      (e: unknown) => this.ended({ kind: 'fail', code: 125, message: `internal error: ${String(e)}` }),
    );
    this.armIdle();
  }

  isClient(client: TerminalClient): boolean {
    return this.client === client;
  }

  get attached(): boolean {
    return this.client !== null;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** Ends the app (if it still runs); the exit message says `reason`. */
  stop(reason: EndReason, message: string): void {
    if (!this.running || this.stopReason) return;
    this.stopReason = { reason, message };
    this.abort.abort();
  }

  /**
   * Attaches a client, replacing any other (closed with 4001). It gets the
   * session message, the output after `since` that the buffer still holds,
   * and, if the app has ended, the exit message and a normal close.
   */
  attach(client: TerminalClient, since: number): void {
    const previous = this.client;
    this.client = client;
    if (previous) previous.close(CloseCode.TAKEN_OVER, 'another client attached to this session');
    this.touch();
    this.detachedSince = null;
    clearTimeout(this.idleTimer);
    const replay = this.ring.since(since);
    const hello: SessionMessage = {
      type: 'session',
      id: this.id,
      app: this.app,
      version: this.version,
      created: this.created.toISOString(),
      tty: this.tty,
      cols: this.cols,
      rows: this.rows,
      replay: { from: replay.from, to: this.ring.end, lost: replay.lost },
      ended: !this.running,
    };
    client.send(JSON.stringify(hello));
    for (const r of replay.records) client.send(dataFrame(r.fd, r.bytes));
    if (this.exit) this.sendExit(client);
  }

  /** The client went away (closed, or its connection dropped). */
  detach(client: TerminalClient): void {
    if (this.client !== client) return;
    this.client = null;
    this.detachedSince = Date.now();
    this.touch();
    this.armIdle();
    this.stdinWaiting = null;
  }

  private stdinWaiting: TerminalClient | null = null;

  /** A message from the attached client (already parsed and rate-checked by terminal.ts). */
  input(client: TerminalClient, m: ClientMessage): void {
    if (this.client !== client || !this.running) return;
    this.touch();
    if (m.type === 'resize') {
      this.cols = m.cols;
      this.rows = m.rows;
    } else if (m.type === 'eof') {
      this.stdin.end();
    } else if (this.discipline) {
      this.discipline.feed(m.data);
    } else {
      this.toGuest(m.data);
    }
  }

  private toGuest(bytes: Uint8Array): void {
    if (this.stdin.writableEnded || bytes.length === 0) return;
    // Copied: the client's buffer may be reused.
    if (!this.stdin.write(Buffer.from(bytes)) && this.client && !this.stdinWaiting) {
      const client = this.client;
      this.stdinWaiting = client;
      client.pause();
      this.stdin.once('drain', () => {
        if (this.stdinWaiting === client) this.stdinWaiting = null;
        client.resume();
      });
    }
  }

  private emit(fd: 1 | 2, bytes: Uint8Array, taken?: () => void): void {
    this.ring.push(fd, bytes);
    this.touch();
    const client = this.client;
    if (client) client.send(dataFrame(fd === 1 ? Channel.STDOUT : Channel.STDERR, bytes), () => taken?.());
    else taken?.();
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.running || this.client) return;
    this.idleTimer = setTimeout(
      () => this.stop('idle', `detached for more than ${this.init.limits.idleSeconds}s`),
      this.init.limits.idleSeconds * 1000,
    );
    this.idleTimer.unref();
  }

  private ended(r: SessionResult): void {
    clearTimeout(this.idleTimer);
    this.init.launch.release();
    this.stdin.destroy();
    this.exit = this.describeEnd(r);
    this.init.onEnd(this);
    if (this.client) this.sendExit(this.client);
  }

  private describeEnd(r: SessionResult): Omit<ExitMessage, 'type'> {
    const stopped = this.stopReason;
    switch (r.kind) {
      case 'exit':
        return { code: r.code, reason: 'exit', message: '' };
      case 'trap':
        return {
          code: EXIT_CODES.trap,
          reason: 'trap',
          message: `the app trapped${r.func ? ` in ${r.func}` : ''}: ${r.reason}`,
        };
      case 'fail':
        return { code: r.code, reason: 'fail', message: r.message };
      case 'timeout':
        return r.clock === 'cpu'
          ? {
              code: EXIT_CODES.cpu,
              reason: 'cpu',
              message: `the app used more than ${r.seconds}s of CPU time`,
            }
          : {
              code: EXIT_CODES.timeout,
              reason: 'timeout',
              message: `the session ran longer than ${r.seconds}s`,
            };
      case 'signal':
        return stopped
          ? { code: EXIT_CODES[stopped.reason], reason: stopped.reason, message: stopped.message }
          : { code: 143, reason: 'ended', message: 'the session was ended' };
    }
  }

  private sendExit(client: TerminalClient): void {
    const m: ExitMessage = { type: 'exit', ...this.exit! };
    client.send(JSON.stringify(m));
    const protocol = this.exit!.reason === 'protocol';
    client.close(
      protocol ? CloseCode.POLICY : CloseCode.NORMAL,
      protocol ? this.exit!.message : 'the app ended',
    );
  }

  info(): SessionInfo {
    return {
      id: this.id,
      user: this.user,
      app: this.app,
      version: this.version,
      state: this.running ? 'running' : 'ended',
      attached: this.client !== null,
      tty: this.tty,
      cols: this.cols,
      rows: this.rows,
      created: this.created.toISOString(),
      lastActivity: new Date(this.lastActivity).toISOString(),
      detachedSince: this.detachedSince === null ? null : new Date(this.detachedSince).toISOString(),
      outputBytes: this.ring.end,
      exit: this.exit,
    };
  }
}
