import { Clockid, Errno, Event, Eventrwflags, Eventtype, Subclockflags, Subscription } from './abi.js';
import { fsError } from '../vfs/errno.js';
import { WasiExit, type WasiContext } from './context.js';
import { StdioDescriptor } from './fd.js';

/** Writes NUL-terminated strings and their pointer table (args_get, environ_get). */
function writeStrings(ctx: WasiContext, items: Uint8Array[], ptrs: number, buf: number): void {
  const mem = ctx.memory;
  const size = items.reduce((n, b) => n + b.length, 0);
  mem.check(ptrs, items.length * 4);
  mem.check(buf, size);
  let at = buf >>> 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    mem.setU32((ptrs >>> 0) + i * 4, at);
    mem.u8.set(item, at);
    at += item.length;
  }
}

function writeSizes(ctx: WasiContext, items: Uint8Array[], countPtr: number, sizePtr: number): void {
  const mem = ctx.memory;
  mem.check(countPtr, 4);
  mem.check(sizePtr, 4);
  mem.setU32(countPtr, items.length);
  mem.setU32(
    sizePtr,
    items.reduce((n, b) => n + b.length, 0),
  );
}

interface ClockSub {
  userdata: bigint;
  deadlineNs: bigint;
  error: number;
}
interface FdSub {
  userdata: bigint;
  type: number;
  error: number;
  nbytes: bigint;
  stdin: StdioDescriptor | null;
}

export function miscCalls(ctx: WasiContext) {
  const fail = (e: unknown) => ctx.errnoOf(e);
  const mem = () => ctx.memory;

  const clockNow = (id: number): bigint => {
    switch (id) {
      case Clockid.REALTIME:
        return ctx.realtimeNs();
      case Clockid.MONOTONIC:
        return ctx.monotonicNs();
      case Clockid.PROCESS_CPUTIME_ID:
      case Clockid.THREAD_CPUTIME_ID:
        return ctx.options.cpuTimeNs ? ctx.options.cpuTimeNs() : ctx.monotonicNs() - ctx.startNs;
      default:
        throw fsError(Errno.INVAL);
    }
  };

  return {
    args_get: (argv: number, buf: number): number => {
      try {
        writeStrings(ctx, ctx.argBytes, argv, buf);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
    args_sizes_get: (countPtr: number, sizePtr: number): number => {
      try {
        writeSizes(ctx, ctx.argBytes, countPtr, sizePtr);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
    environ_get: (environ: number, buf: number): number => {
      try {
        writeStrings(ctx, ctx.envBytes, environ, buf);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
    environ_sizes_get: (countPtr: number, sizePtr: number): number => {
      try {
        writeSizes(ctx, ctx.envBytes, countPtr, sizePtr);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    clock_res_get: (id: number, resPtr: number): number => {
      try {
        mem().check(resPtr, 8);
        clockNow(id);
        // Realtime comes from a double of milliseconds (sub-microsecond steps); the rest from performance.now().
        mem().setU64(resPtr, id === Clockid.REALTIME ? 1000n : 1n);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
    clock_time_get: (id: number, _precision: bigint, timePtr: number): number => {
      try {
        mem().check(timePtr, 8);
        mem().setU64(timePtr, clockNow(id));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    random_get: (buf: number, len: number): number => {
      try {
        const out = mem().bytes(buf, len);
        // getRandomValues fills at most 64 KiB per call.
        for (let i = 0; i < out.length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    sched_yield: (): number => 0,

    proc_exit: (code: number): never => {
      throw new WasiExit(code >>> 0);
    },

    // Signals do not exist for a WASI guest here (wasmtime does not deliver them either).
    proc_raise: (_sig: number): number => Errno.NOSYS,

    poll_oneoff: (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number => {
      try {
        const n = nsubs >>> 0;
        if (n === 0) throw fsError(Errno.INVAL);
        mem().check(inPtr, n * Subscription.SIZE);
        mem().check(outPtr, n * Event.SIZE);
        mem().check(neventsPtr, 4);
        const v = mem().view;
        const clocks: ClockSub[] = [];
        const fds: FdSub[] = [];
        const now = ctx.monotonicNs();
        for (let i = 0; i < n; i++) {
          const p = (inPtr >>> 0) + i * Subscription.SIZE;
          const userdata = v.getBigUint64(p + Subscription.USERDATA, true);
          const tag = v.getUint8(p + Subscription.TAG);
          if (tag === Eventtype.CLOCK) {
            const id = v.getUint32(p + Subscription.CLOCK_ID, true);
            const timeout = v.getBigUint64(p + Subscription.CLOCK_TIMEOUT, true);
            const flags = v.getUint16(p + Subscription.CLOCK_FLAGS, true);
            let deadlineNs = now;
            let error = 0;
            try {
              if (flags & Subclockflags.ABSTIME) deadlineNs = now + (timeout - clockNow(id));
              else {
                clockNow(id);
                deadlineNs = now + timeout;
              }
            } catch (e) {
              error = fail(e);
            }
            clocks.push({ userdata, deadlineNs, error });
          } else if (tag === Eventtype.FD_READ || tag === Eventtype.FD_WRITE) {
            const fd = v.getUint32(p + Subscription.FD, true);
            const sub: FdSub = { userdata, type: tag, error: 0, nbytes: 0n, stdin: null };
            try {
              const d = ctx.fd(fd);
              if (tag === Eventtype.FD_READ) {
                const ready = d.readable();
                if (ready === null && d instanceof StdioDescriptor) sub.stdin = d;
                else sub.nbytes = ready ?? 0n;
              }
            } catch (e) {
              sub.error = fail(e);
            }
            fds.push(sub);
          } else {
            throw fsError(Errno.INVAL);
          }
        }

        const pending = fds.filter((s) => s.stdin !== null);
        const readyFds = fds.filter((s) => s.stdin === null);
        const earliest = clocks.reduce<bigint | null>(
          (m, c) => (c.error ? m : m === null || c.deadlineNs < m ? c.deadlineNs : m),
          null,
        );
        const clockErrors = clocks.filter((c) => c.error !== 0);
        let woken: FdSub[] = [];
        if (readyFds.length === 0 && clockErrors.length === 0) {
          const waitMs = earliest === null ? null : Math.max(0, Number(earliest - ctx.monotonicNs()) / 1e6);
          if (pending.length > 0) {
            const stdin = pending[0]!.stdin!;
            if (stdin.stream.waitReadable!(waitMs)) woken = pending;
          } else if (waitMs !== null) {
            // Sleep until the deadline; Atomics.wait may return a little early, so loop.
            for (;;) {
              const left = Number(earliest! - ctx.monotonicNs()) / 1e6;
              if (left <= 0) break;
              ctx.sleepMs(left);
            }
          }
        }
        for (const s of woken) s.nbytes = 1n;

        let count = 0;
        const emit = (userdata: bigint, error: number, type: number, nbytes: bigint, hangup: boolean) => {
          const p = (outPtr >>> 0) + count * Event.SIZE;
          for (let k = 0; k < Event.SIZE; k += 8) v.setBigUint64(p + k, 0n, true);
          v.setBigUint64(p + Event.USERDATA, userdata, true);
          v.setUint16(p + Event.ERROR, error, true);
          v.setUint8(p + Event.TYPE, type);
          v.setBigUint64(p + Event.NBYTES, nbytes, true);
          v.setUint16(p + Event.FLAGS, hangup ? Eventrwflags.FD_READWRITE_HANGUP : 0, true);
          count++;
        };
        for (const s of [...readyFds, ...woken]) emit(s.userdata, s.error, s.type, s.nbytes, false);
        const after = ctx.monotonicNs();
        for (const c of clocks) {
          if (c.error !== 0) emit(c.userdata, c.error, Eventtype.CLOCK, 0n, false);
          else if (count === 0 || c.deadlineNs <= after) {
            if (c.deadlineNs <= after) emit(c.userdata, 0, Eventtype.CLOCK, 0n, false);
          }
        }
        mem().setU32(neventsPtr, count);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    // Sockets cannot be opened by a preview1 guest, so no fd is ever a socket.
    sock_accept: (fd: number, _flags: number, _fdPtr: number): number => sockErrno(ctx, fd),
    sock_recv: (fd: number, _a: number, _b: number, _c: number, _d: number, _e: number): number =>
      sockErrno(ctx, fd),
    sock_send: (fd: number, _a: number, _b: number, _c: number, _d: number): number => sockErrno(ctx, fd),
    sock_shutdown: (fd: number, _how: number): number => sockErrno(ctx, fd),
  };
}

function sockErrno(ctx: WasiContext, fd: number): number {
  return ctx.fds[fd] === undefined ? Errno.BADF : Errno.NOTSOCK;
}
