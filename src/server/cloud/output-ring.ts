/**
 * A session's recent output, bounded, for replay when a client reattaches.
 * Offsets count output bytes (stdout and stderr together) since the session
 * started; the ring keeps [start, end) and drops the oldest bytes first.
 */
export interface OutputRecord {
  fd: 1 | 2;
  bytes: Uint8Array;
}

export class OutputRing {
  private records: OutputRecord[] = [];
  private held = 0;
  /** Offset of the first byte still held. */
  start = 0;
  /** Offset just past the last byte written. */
  end = 0;

  constructor(private readonly capacity: number) {}

  push(fd: 1 | 2, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.end += bytes.length;
    if (bytes.length >= this.capacity) {
      // Only the tail of one huge write fits.
      this.records = [{ fd, bytes: bytes.slice(bytes.length - this.capacity) }];
      this.held = this.capacity;
      this.start = this.end - this.capacity;
      return;
    }
    this.records.push({ fd, bytes });
    this.held += bytes.length;
    while (this.held > this.capacity) {
      const first = this.records[0]!;
      const over = this.held - this.capacity;
      if (first.bytes.length <= over) {
        this.records.shift();
        this.held -= first.bytes.length;
        this.start += first.bytes.length;
      } else {
        this.records[0] = { fd: first.fd, bytes: first.bytes.subarray(over) };
        this.held -= over;
        this.start += over;
      }
    }
  }

  /** What a client that has seen `offset` bytes has missed, and how many of those are gone. */
  since(offset: number): { from: number; lost: number; records: OutputRecord[] } {
    const from = Math.min(Math.max(offset, this.start), this.end);
    const lost = Math.max(0, this.start - offset);
    const out: OutputRecord[] = [];
    let at = this.start;
    for (const r of this.records) {
      const next = at + r.bytes.length;
      if (next > from) out.push(at >= from ? r : { fd: r.fd, bytes: r.bytes.subarray(from - at) });
      at = next;
    }
    return { from, lost, records: out };
  }
}
