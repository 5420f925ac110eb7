/** The app's stdin on the page: bytes pushed by the user (or given up front), read by the bridge. */
export class StdinQueue {
  private readonly chunks: Uint8Array[] = [];
  private closed = false;
  private waiters: (() => void)[] = [];

  push(input: string | Uint8Array): void {
    if (this.closed) return;
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input.slice();
    if (bytes.length > 0) this.chunks.push(bytes);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private ready(): boolean {
    return this.chunks.length > 0 || this.closed;
  }

  /** Up to `max` bytes, waiting until there are some; null at end of input. */
  async read(max: number): Promise<Uint8Array | null> {
    while (!this.ready()) await new Promise<void>((r) => this.waiters.push(r));
    const head = this.chunks[0];
    if (!head) return null;
    if (head.length <= max) {
      this.chunks.shift();
      return head;
    }
    this.chunks[0] = head.subarray(max);
    return head.subarray(0, max);
  }

  /** True when a read would not wait, within `timeoutMs` (null: however long it takes). */
  async waitReadable(timeoutMs: number | null): Promise<boolean> {
    if (this.ready()) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const woke = new Promise<boolean>((r) => this.waiters.push(() => r(true)));
    const out =
      timeoutMs === null
        ? woke
        : Promise.race([woke, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    const ready = await out;
    clearTimeout(timer);
    return ready;
  }
}
