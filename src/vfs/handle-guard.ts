import { Errno, fsError } from './errno.js';
import type { FileKind } from './types.js';

/**
 * What every in-process FileHandle checks before it acts: that it is still
 * open (EBADF after close), and for data calls that it is a regular file
 * (EISDIR) and the position is a safe, non-negative integer (EINVAL).
 */
export abstract class GuardedHandle {
  private open = true;
  abstract readonly kind: FileKind;

  protected check(): void {
    if (!this.open) throw fsError(Errno.BADF, 'handle is closed');
  }

  protected checkFileAt(position: number): void {
    this.check();
    if (this.kind !== 'file') throw fsError(Errno.ISDIR);
    if (!(position >= 0) || !Number.isSafeInteger(position)) throw fsError(Errno.INVAL, 'bad position');
  }

  sync(): void {
    this.check();
  }

  datasync(): void {
    this.check();
  }

  close(): void {
    this.check();
    this.open = false;
  }
}
