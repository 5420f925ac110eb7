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
