/** Reading whole modules out of an app's view (platform-neutral; Node's and the browser's workers both do). */
import type { FileSystem } from '../vfs/types.js';

/** A failure that is capsule's (a corrupt package), not the app's: exit 125. */
export class ViewError extends Error {
  readonly exitCode = 125;
}

/** V8 compiles no WebAssembly module larger than 1 GiB. */
const MAX_MODULE_BYTES = 2 ** 30;

export function readWhole(fs: FileSystem, path: string): Uint8Array {
  const h = fs.open(path, { read: true, write: false });
  try {
    const size = Number(h.stat().size);
    // A hostile index can claim any size: refuse before allocating it.
    if (size > MAX_MODULE_BYTES) {
      throw new ViewError(
        `/${path} claims ${size} bytes, more than a WebAssembly module can be (1 GiB); refused`,
      );
    }
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = h.read(out.subarray(at), at);
      if (n === 0) break;
      at += n;
    }
    return out.subarray(0, at);
  } finally {
    h.close();
  }
}
