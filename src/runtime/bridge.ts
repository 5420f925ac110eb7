/**
 * The sync bridge: how a guest blocked in a syscall waits for something the
 * other thread has to fetch (stdin now; chunks and network replies later).
 *
 * Layout of the SharedArrayBuffer:
 *   Int32 [0] state   0 = idle, 1 = request posted, 2 = reply ready
 *   Int32 [1] op      what is asked (BridgeOp)
 *   Int32 [2] arg     op-specific (a byte count, a timeout in ms, -1 = none)
 *   Int32 [3] result  >= 0: bytes of reply data; < 0: a status (BridgeStatus)
 *   bytes [16 .. 16+capacity)  request data (written by the worker), then reply data
 *
 * FETCH_OBJECT (streamed package runs): the worker writes the object's digest
 * (ASCII, `arg` bytes) into the data area; the host fetches the object,
 * verifies it and writes it into the local store, and replies 0 (now stored:
 * the worker reads it from the store itself, so objects of any size pass
 * without growing this buffer) or ERROR (unavailable or corrupt).
 *
 * READ_OBJECT (the browser runtime, web/runtime): there is no store the
 * worker can read, so the page keeps fetched objects' verified plain bytes
 * and the worker copies them out through this buffer. The worker writes
 * the digest (ASCII) into the data area and the byte offset into `arg`; the
 * page fetches and verifies the object if it has not yet, and replies with
 * the bytes from that offset (as many as fit) or ERROR. In the browser,
 * FETCH_OBJECT fetches into that page-side cache.
 *
 * The worker writes op/arg, sets state 1, posts a wake-up message (the other
 * side is an event loop and cannot wait on the cell), and Atomics.waits until
 * the state is 2. The host side answers asynchronously, fills the data, sets
 * state 2 and notifies. One request is in flight at a time: the guest is
 * single-threaded.
 */

export const BridgeOp = { STDIN_READ: 1, STDIN_WAIT: 2, FETCH_OBJECT: 3, READ_OBJECT: 4 } as const;
export const BridgeStatus = { EOF: -1, TIMEOUT: -2, ERROR: -3, ABORTED: -4 } as const;

const HEADER = 16;
export const DEFAULT_CAPACITY = 64 * 1024;

export interface BridgeReply {
  data?: Uint8Array;
  status?: number;
}

export function createBridgeBuffer(capacity = DEFAULT_CAPACITY): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + capacity);
}

/** The guest's side: blocking calls. */
export class BridgeClient {
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  constructor(
    buffer: SharedArrayBuffer,
    private readonly wake: () => void,
  ) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.data = new Uint8Array(buffer, HEADER);
  }

  get capacity(): number {
    return this.data.length;
  }

  /** Posts a request and blocks until the reply. Returns the result word; data is copied into `out`. */
  call(op: number, arg: number, out?: Uint8Array, request?: Uint8Array): number {
    const c = this.ctrl;
    if (request) this.data.set(request.subarray(0, this.data.length));
    Atomics.store(c, 1, op);
    Atomics.store(c, 2, arg);
    Atomics.store(c, 3, 0);
    Atomics.store(c, 0, 1);
    this.wake();
    while (Atomics.load(c, 0) !== 2) Atomics.wait(c, 0, 1);
    const result = Atomics.load(c, 3);
    if (result > 0 && out) out.set(this.data.subarray(0, Math.min(result, out.length)));
    Atomics.store(c, 0, 0);
    return result;
  }
}

/** The other side: answers requests with an async handler. */
export class BridgeHost {
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  private busy = false;
  constructor(
    buffer: SharedArrayBuffer,
    private readonly handle: (
      op: number,
      arg: number,
      capacity: number,
      data: Uint8Array,
    ) => Promise<BridgeReply>,
  ) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.data = new Uint8Array(buffer, HEADER);
  }

  /** Called on every wake-up message; serves the pending request if there is one. */
  async serve(): Promise<void> {
    if (this.busy || Atomics.load(this.ctrl, 0) !== 1) return;
    this.busy = true;
    let reply: BridgeReply;
    try {
      reply = await this.handle(
        Atomics.load(this.ctrl, 1),
        Atomics.load(this.ctrl, 2),
        this.data.length,
        this.data,
      );
    } catch {
      reply = { status: BridgeStatus.ERROR };
    }
    this.reply(reply);
    this.busy = false;
  }

  private reply(r: BridgeReply): void {
    let result = r.status ?? 0;
    if (r.data) {
      const n = Math.min(r.data.length, this.data.length);
      this.data.set(r.data.subarray(0, n));
      result = n;
    }
    Atomics.store(this.ctrl, 3, result);
    Atomics.store(this.ctrl, 0, 2);
    Atomics.notify(this.ctrl, 0);
  }
}
