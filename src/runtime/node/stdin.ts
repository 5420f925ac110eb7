/**
 * The host's stdin as the guest's bridge sees it. Reading starts only when
 * the guest first asks, so a guest that never reads stdin never consumes it
 * and capsule never waits on it. Input is buffered with back-pressure.
 */
export class StdinSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private started = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly stream: NodeJS.ReadableStream = process.stdin) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.stream.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.buffered += c.length;
      if (this.buffered > 1 << 20) this.stream.pause();
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    this.stream.on('end', end);
    this.stream.on('error', end);
    this.stream.resume();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private next(timeoutMs: number | null): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (timeoutMs !== null) setTimeout(resolve, timeoutMs).unref();
    });
  }

  /** Up to max bytes, waiting for at least one; null at end of input. */
  async read(max: number): Promise<Uint8Array | null> {
    this.start();
    while (this.chunks.length === 0 && !this.ended) await this.next(null);
    const first = this.chunks[0];
    if (!first) return null;
    let out: Buffer;
    if (first.length <= max) {
      this.chunks.shift();
      out = first;
    } else {
      out = first.subarray(0, max);
      this.chunks[0] = first.subarray(max);
    }
    this.buffered -= out.length;
    if (this.buffered < 1 << 19) this.stream.resume();
    return out;
  }

  /** True when a read would not block (data or end of input), waiting up to timeoutMs (null: forever). */
  async waitReadable(timeoutMs: number | null): Promise<boolean> {
    this.start();
    if (this.chunks.length > 0 || this.ended) return true;
    if (timeoutMs === 0) return false;
    await this.next(timeoutMs);
    return this.chunks.length > 0 || this.ended;
  }

  stop(): void {
    if (this.started) this.stream.pause();
  }
}
