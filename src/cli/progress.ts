/**
 * A progress bar on stderr for long operations (pack, export, pull). It draws
 * only on a terminal, at most ten times a second, and erases itself when
 * done, so piped or logged output stays clean.
 */
import { formatBytes } from '../runtime/bytes.js';

export { formatBytes };

export class ProgressBar {
  private last = 0;
  private readonly started = performance.now();
  private drawn = false;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY) && process.env.CI !== 'true';
  }

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(share * width);
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? `${formatBytes(done / secs)}/s` : '';
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    this.stream.write(
      `\r${this.label} ${bar} ${(share * 100).toFixed(0).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${rate}\x1b[K`,
    );
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
