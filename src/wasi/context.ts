import { Errno, FILE_RIGHTS, DIR_RIGHTS, Rights } from './abi.js';
import { FsError, fsError } from '../vfs/errno.js';
import type { FileSystem } from '../vfs/types.js';
import { GuestMemory } from './memory.js';
import { Descriptor, DirectoryDescriptor, FileDescriptor, StdioDescriptor, type StdioStream } from './fd.js';

/** Thrown by proc_exit; the only exception that crosses the WASI ABI. */
export class WasiExit {
  constructor(readonly code: number) {}
}

export interface Preopen {
  /** Where the guest sees it, e.g. "/" or "/data". */
  guestPath: string;
  fs: FileSystem;
}

export interface WasiOptions {
  args: string[];
  /** Exactly the environment the guest sees, in order. */
  env: [string, string][];
  preopens: Preopen[];
  stdin: StdioStream;
  stdout: StdioStream;
  stderr: StdioStream;
  /** CPU time of the process in ns, where the platform can tell; otherwise monotonic time is used. */
  cpuTimeNs?: () => bigint;
  /** Called with the name of each syscall before it runs; for tracing (`--trace`). */
  onSyscall?: (name: string) => void;
}

/**
 * The state of one WASI instance: guest memory, the fd table, args and env.
 * The syscall files (calls-*.ts) are plain functions over it.
 */
export class WasiContext {
  readonly fds: (Descriptor | undefined)[] = [];
  readonly argBytes: Uint8Array[];
  readonly envBytes: Uint8Array[];
  private mem: GuestMemory | null = null;
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));
  readonly startNs: bigint;

  constructor(readonly options: WasiOptions) {
    const enc = new TextEncoder();
    this.argBytes = options.args.map((a) => enc.encode(a + '\0'));
    this.envBytes = options.env.map(([k, v]) => enc.encode(`${k}=${v}\0`));
    this.fds.push(
      new StdioDescriptor(options.stdin),
      new StdioDescriptor(options.stdout),
      new StdioDescriptor(options.stderr),
    );
    for (const p of options.preopens) {
      const rooted = p.guestPath === '/';
      this.fds.push(
        new DirectoryDescriptor(p.fs, '', null, DIR_RIGHTS, DIR_RIGHTS | FILE_RIGHTS, p.guestPath, rooted),
      );
    }
    this.startNs = this.monotonicNs();
  }

  bindMemory(memory: WebAssembly.Memory): void {
    this.mem = new GuestMemory(memory);
  }

  get memory(): GuestMemory {
    if (!this.mem) throw new Error('WASI memory used before the instance was bound');
    return this.mem;
  }

  fd(n: number): Descriptor {
    const d = this.fds[n];
    if (d === undefined) throw fsError(Errno.BADF);
    return d;
  }

  dir(n: number): DirectoryDescriptor {
    const d = this.fd(n);
    if (d instanceof DirectoryDescriptor) return d;
    if (d instanceof FileDescriptor && d.origin && d.handle.kind === 'dir') {
      // Opened without O_DIRECTORY and found to be a directory (see FileDescriptor.origin).
      const o = d.origin;
      const dir = new DirectoryDescriptor(
        o.fs,
        o.path,
        d.handle,
        o.rightsBase | Rights.FD_READDIR,
        d.rightsInheriting | FILE_RIGHTS | DIR_RIGHTS,
        null,
        o.rootedView,
      );
      dir.flags = d.flags;
      this.fds[n] = dir;
      return dir;
    }
    throw fsError(Errno.NOTDIR);
  }

  /** A path argument: checked memory, valid UTF-8 (EILSEQ), no NUL (EINVAL). */
  path(ptr: number, len: number): string {
    const s = this.memory.string(ptr, len);
    if (s.includes('\0')) throw fsError(Errno.INVAL);
    return s;
  }

  allocate(d: Descriptor): number {
    let n = 3;
    while (this.fds[n] !== undefined) n++;
    this.fds[n] = d;
    return n;
  }

  monotonicNs(): bigint {
    return BigInt(Math.round(performance.now() * 1e6));
  }

  realtimeNs(): bigint {
    return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  }

  /** Blocks the calling thread; the guest runs in a worker, where this is allowed. */
  sleepMs(ms: number): void {
    if (ms > 0) Atomics.wait(this.sleepCell, 0, 0, ms);
  }

  /** The errno for an exception thrown by a syscall; anything but FsError is a host bug or an exit, and propagates. */
  errnoOf(e: unknown): number {
    if (FsError.is(e)) return e.errno;
    throw e;
  }
}
