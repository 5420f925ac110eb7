import { writeSync } from 'node:fs';
import type { StdioStream } from '../../wasi/host.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A host file descriptor as a guest's stdout or stderr. Writes go straight to
 * the fd from the guest's thread, so output appears as it is produced and in
 * order. A non-blocking pipe that is full (EAGAIN) is waited out, not lost.
 */
export function fdWriter(fd: number, isTTY: boolean): StdioStream {
  return {
    isTTY,
    write(buf: Uint8Array): number {
      let done = 0;
      while (done < buf.length) {
        try {
          done += writeSync(fd, buf, done, buf.length - done);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') {
            Atomics.wait(pause, 0, 0, 1);
            continue;
          }
          if (code === 'EPIPE') return buf.length; // the reader went away; like a guest ignoring SIGPIPE
          throw e;
        }
      }
      return done;
    },
  };
}

/** The largest piece one output message carries. */
const PIECE = 64 * 1024;

/**
 * A guest's stdout or stderr as messages to the main thread (a cloud
 * session), with flow control through `window` (see WorkerSpec.output).
 */
export function messageWriter(
  fd: 1 | 2,
  isTTY: boolean,
  window: SharedArrayBuffer,
  post: (m: { t: 'output'; fd: 1 | 2; data: Uint8Array }, transfer: ArrayBuffer[]) => void,
): StdioStream {
  const cell = new Int32Array(window);
  return {
    isTTY,
    write(buf: Uint8Array): number {
      for (let at = 0; at < buf.length; at += PIECE) {
        for (;;) {
          const pending = Atomics.load(cell, 0);
          if (pending < Atomics.load(cell, 1)) break;
          Atomics.wait(cell, 0, pending);
        }
        // A copy: posting a view of guest memory would clone all of it.
        const piece = buf.slice(at, at + PIECE);
        Atomics.add(cell, 0, piece.length);
        post({ t: 'output', fd, data: piece }, [piece.buffer]);
      }
      return buf.length;
    },
  };
}
