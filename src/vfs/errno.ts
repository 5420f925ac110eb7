/**
 * Error numbers used inside the runtime. The values are WASI preview1's `errno`
 * values (see wasi/api.h), so the WASI layer passes them through unchanged, but
 * nothing here depends on WASI: a filesystem only needs names for its failures.
 */
export const Errno = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  ADDRINUSE: 3,
  ADDRNOTAVAIL: 4,
  AFNOSUPPORT: 5,
  AGAIN: 6,
  ALREADY: 7,
  BADF: 8,
  BADMSG: 9,
  BUSY: 10,
  CANCELED: 11,
  CHILD: 12,
  CONNABORTED: 13,
  CONNREFUSED: 14,
  CONNRESET: 15,
  DEADLK: 16,
  DESTADDRREQ: 17,
  DOM: 18,
  DQUOT: 19,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  HOSTUNREACH: 23,
  IDRM: 24,
  ILSEQ: 25,
  INPROGRESS: 26,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISCONN: 30,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  MSGSIZE: 35,
  MULTIHOP: 36,
  NAMETOOLONG: 37,
  NETDOWN: 38,
  NETRESET: 39,
  NETUNREACH: 40,
  NFILE: 41,
  NOBUFS: 42,
  NODEV: 43,
  NOENT: 44,
  NOEXEC: 45,
  NOLCK: 46,
  NOLINK: 47,
  NOMEM: 48,
  NOMSG: 49,
  NOPROTOOPT: 50,
  NOSPC: 51,
  NOSYS: 52,
  NOTCONN: 53,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTRECOVERABLE: 56,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  NXIO: 60,
  OVERFLOW: 61,
  OWNERDEAD: 62,
  PERM: 63,
  PIPE: 64,
  PROTO: 65,
  PROTONOSUPPORT: 66,
  PROTOTYPE: 67,
  RANGE: 68,
  ROFS: 69,
  SPIPE: 70,
  SRCH: 71,
  STALE: 72,
  TIMEDOUT: 73,
  TXTBSY: 74,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;

export type ErrnoValue = (typeof Errno)[keyof typeof Errno];

const names: Record<number, string> = Object.fromEntries(Object.entries(Errno).map(([k, v]) => [v, `E${k}`]));

export function errnoName(errno: number): string {
  return names[errno] ?? `errno ${errno}`;
}

/**
 * The one error a filesystem throws. It carries an errno and no stack trace:
 * these are expected outcomes (ENOENT on a probe for a journal file), thrown on
 * hot paths, and never shown to a user as a crash.
 */
const BRAND = Symbol.for('capsule.FsError');

export class FsError extends Error {
  /** Recognised by brand, not by class: bundled code may carry its own copy of this class. */
  readonly [BRAND] = true;
  constructor(
    readonly errno: number,
    detail?: string,
  ) {
    super(detail ? `${errnoName(errno)}: ${detail}` : errnoName(errno));
    this.name = 'FsError';
  }

  static is(e: unknown): e is FsError {
    return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** Builds an FsError without capturing a stack: one ENOENT costs more to trace than to find. */
export function fsError(errno: number, detail?: string): FsError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new FsError(errno, detail);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
