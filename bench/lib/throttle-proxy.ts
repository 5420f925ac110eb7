/**
 * A throttling TCP proxy for benchmarks and robustness tests: it stands
 * between a client and a server on this machine and makes the path between
 * them look like a network link.
 *
 * - Bandwidth: each direction is one link shared by every connection, with a
 *   token bucket of `bandwidthBps` bits/s and a `burstBytes` deep bucket.
 *   Bytes take their turn in arrival order (one FIFO queue, as at a
 *   bottleneck router), cut into pieces of at most 16 KiB so connections
 *   interleave. A connection with more than 256 KiB queued (twice what is in flight at 50 Mbit/s and 20 ms) stops being read
 *   until it drains, so TCP's own flow control reaches the sender.
 * - Latency: every piece is delivered `rttMs / 2` after it has crossed the
 *   link, in each direction, and a new connection's first bytes wait one RTT
 *   more (TCP's handshake): a request/response costs one RTT, a new
 *   connection two, as on a real network.
 * - Counting: bytes delivered per direction (`up` = client to server,
 *   `down` = server to client), so a benchmark can read how much was fetched
 *   until a moment (e.g. the first output of an app).
 * - Faults, for tests: cut the connection that carries the Nth byte from now
 *   (`cutAfter`), cut every connection and refuse new ones for a while
 *   (`blackout`), flip one byte of a given byte pattern in flight
 *   (`corruptOnce`). A cut closes both sides at once, whatever is in flight.
 *   (Not with an RST: `socket.resetAndDestroy()` can leave Node 20 spinning
 *   in its exit-time handle cleanup.)
 *
 * Per connection, delivery is strictly in order (one timer per direction
 * and connection, never one per piece: two timers can fire out of order).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ThrottleOptions {
  /** Where connections go. */
  target: { host: string; port: number };
  /** Listen address (default 127.0.0.1) and port (default 0: a free one). */
  host?: string;
  port?: number;
  /** Bits per second per direction (default 50 Mbit/s); 0 means unlimited. */
  bandwidthBps?: number;
  /** The round-trip time to add (default 20 ms). */
  rttMs?: number;
  /** Token bucket depth (default 16 KiB). */
  burstBytes?: number;
  /** Make each new connection pay one RTT before its first byte moves (default true). */
  handshake?: boolean;
}

export interface ThrottleStats {
  /** Bytes delivered client -> server and server -> client. */
  up: number;
  down: number;
  /** Connections accepted, and connections cut or refused by a fault. */
  connections: number;
  cut: number;
  refused: number;
  /** Bytes flipped by corruptOnce. */
  corrupted: number;
}

export interface ThrottleProxy {
  url: string;
  port: number;
  stats(): ThrottleStats;
  /** Cut the connection that carries the `bytes`-th server -> client byte from now; `times` times in a row. */
  cutAfter(bytes: number, times?: number): void;
  /** Cut every open connection now, and close every new one at once for `ms`. */
  blackout(ms: number): void;
  /** Flip the last byte of the first server -> client occurrence of `pattern` from now on. */
  corruptOnce(pattern: Uint8Array): void;
  close(): Promise<void>;
}

const PIECE = 16 * 1024;
const HIGH_WATER = 256 * 1024;

/** One direction of the link: a token bucket, then a fixed delay. */
class Link {
  private freeAt = 0;
  constructor(
    private readonly bytesPerMs: number,
    private readonly burstMs: number,
    readonly delayMs: number,
  ) {}

  /** When n bytes entering the link now come out of its far end. */
  schedule(n: number, notBefore: number): number {
    const now = performance.now();
    if (this.bytesPerMs <= 0) return Math.max(now, notBefore) + this.delayMs;
    // A full bucket lets burstBytes through at once: the link "was free" burstMs ago.
    const start = Math.max(now - this.burstMs, this.freeAt);
    this.freeAt = start + n / this.bytesPerMs;
    return Math.max(this.freeAt, now, notBefore) + this.delayMs;
  }
}

interface Faults {
  cutIn: number | null;
  cutTimes: number;
  cutEvery: number;
  blackoutUntil: number;
  pattern: Buffer | null;
}

/** One direction of one connection: in-order delivery through the link. */
class Pipe {
  private queue: { at: number; buf: Buffer }[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  private tail = Buffer.alloc(0);

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly link: Link,
    private readonly notBefore: number,
    private readonly onDeliver: (buf: Buffer, pipe: Pipe) => Buffer | null,
    private readonly corrupt: ((buf: Buffer, tail: Buffer) => void) | null,
  ) {
    src.on('data', (b: Buffer) => this.push(b));
    src.on('end', () => {
      this.ended = true;
      this.arm();
    });
  }

  private push(b: Buffer): void {
    if (this.corrupt) {
      this.corrupt(b, this.tail);
      this.tail = Buffer.from(b.subarray(Math.max(0, b.length - 256)));
    }
    for (let i = 0; i < b.length; i += PIECE) {
      const buf = b.subarray(i, i + PIECE);
      this.queue.push({ at: this.link.schedule(buf.length, this.notBefore), buf });
      this.queued += buf.length;
    }
    if (this.queued > HIGH_WATER) this.src.pause();
    this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    const head = this.queue[0];
    if (!head) {
      if (this.ended && !this.dst.destroyed) this.dst.end();
      return;
    }
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.at - performance.now()));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now + 0.5) {
      const { buf } = this.queue.shift()!;
      this.queued -= buf.length;
      if (this.dst.destroyed) continue;
      const out = this.onDeliver(buf, this);
      if (out === null) return; // cut
      this.dst.write(out);
    }
    if (this.queued <= HIGH_WATER / 2 && this.src.isPaused() && !this.src.destroyed) this.src.resume();
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}

export async function startThrottleProxy(options: ThrottleOptions): Promise<ThrottleProxy> {
  const bps = options.bandwidthBps ?? 50_000_000;
  const rtt = options.rttMs ?? 20;
  const bytesPerMs = bps > 0 ? bps / 8 / 1000 : 0;
  const burstMs = bytesPerMs > 0 ? (options.burstBytes ?? 16 * 1024) / bytesPerMs : 0;
  const upLink = new Link(bytesPerMs, burstMs, rtt / 2);
  const downLink = new Link(bytesPerMs, burstMs, rtt / 2);
  const stats: ThrottleStats = { up: 0, down: 0, connections: 0, cut: 0, refused: 0, corrupted: 0 };
  const faults: Faults = { cutIn: null, cutTimes: 0, cutEvery: 0, blackoutUntil: 0, pattern: null };
  const open = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>();

  const kill = (conn: { client: Socket; upstream: Socket; pipes: Pipe[] }) => {
    for (const p of conn.pipes) p.stop();
    conn.client.destroy();
    conn.upstream.destroy();
    open.delete(conn);
  };

  const corrupt = (buf: Buffer, tail: Buffer) => {
    const pattern = faults.pattern;
    if (!pattern) return;
    // Search across the previous piece's tail, so a pattern split between two reads is found too.
    const joined = Buffer.concat([tail.subarray(Math.max(0, tail.length - pattern.length + 1)), buf]);
    const at = joined.indexOf(pattern);
    if (at < 0) return;
    const last = at + pattern.length - 1 - (joined.length - buf.length);
    buf[last] = buf[last]! ^ 0xff;
    faults.pattern = null;
    stats.corrupted++;
  };

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (client) => {
    stats.connections++;
    if (performance.now() < faults.blackoutUntil) {
      stats.refused++;
      client.destroy();
      return;
    }
    const ready = performance.now() + (options.handshake === false ? 0 : rtt);
    const upstream = connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true });
    const conn = { client, upstream, pipes: [] as Pipe[] };
    open.add(conn);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new Pipe(
      client,
      upstream,
      upLink,
      ready,
      (buf) => {
        stats.up += buf.length;
        return buf;
      },
      null,
    );
    const down = new Pipe(
      upstream,
      client,
      downLink,
      ready,
      (buf) => {
        if (faults.cutIn !== null && buf.length >= faults.cutIn) {
          const head = buf.subarray(0, faults.cutIn);
          stats.down += head.length;
          client.write(head);
          faults.cutTimes--;
          faults.cutIn = faults.cutTimes > 0 ? faults.cutEvery : null;
          stats.cut++;
          kill(conn);
          return null;
        }
        if (faults.cutIn !== null) faults.cutIn -= buf.length;
        stats.down += buf.length;
        return buf;
      },
      corrupt,
    );
    conn.pipes.push(up, down);
    // A server that is down or gone: the client sees its connection closed.
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') stats.refused++;
      if (open.has(conn)) kill(conn);
    });
    client.on('error', () => {
      if (open.has(conn)) kill(conn);
    });
    client.on('close', () => {
      for (const p of conn.pipes) p.stop();
      upstream.destroy();
      open.delete(conn);
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    stats: () => ({ ...stats }),
    cutAfter(bytes, times = 1) {
      faults.cutIn = bytes;
      faults.cutEvery = bytes;
      faults.cutTimes = times;
    },
    blackout(ms) {
      faults.blackoutUntil = performance.now() + ms;
      for (const conn of [...open]) {
        stats.cut++;
        kill(conn);
      }
    },
    corruptOnce(pattern) {
      if (pattern.length === 0 || pattern.length > 256) throw new Error('the pattern must be 1-256 bytes');
      faults.pattern = Buffer.from(pattern);
    },
    close() {
      for (const conn of [...open]) kill(conn);
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
