/**
 * The terminal side of a cloud session that has a tty: what a Unix pty's
 * line discipline does in canonical mode, because the client's terminal is
 * in raw mode (as under ssh) and a WASI guest has no termios of its own.
 *
 * Input (ICANON, ECHO, ICRNL, ECHOCTL, ECHOE): bytes are edited into a line
 * and echoed; Enter (CR or LF) hands the line, with "\n", to the guest;
 * Backspace/DEL erases a character (a whole UTF-8 sequence), Ctrl-U the
 * line, Ctrl-W a word; Ctrl-D on an empty line is end of input, on a
 * non-empty one it hands the line over without a newline; Ctrl-C
 * interrupts (the session ends with 130, as `capsule run` does locally).
 * Other control characters are kept and echoed as ^X. A line holds at most
 * 4095 bytes, like Linux's N_TTY; more is dropped with a bell.
 *
 * Output (OPOST, ONLCR): "\n" becomes "\r\n".
 */

export interface LineSink {
  echo(bytes: Uint8Array): void;
  line(bytes: Uint8Array): void;
  eof(): void;
  interrupt(): void;
}

const MAX_LINE = 4095;
const ERASE = Buffer.from('\b \b');

interface Char {
  bytes: number[];
  /** Columns its echo took: 2 for ^X, 1 otherwise. */
  width: number;
}

export class LineDiscipline {
  private chars: Char[] = [];
  private size = 0;
  /** Bytes of a UTF-8 sequence still expected for the last char. */
  private pending = 0;

  constructor(private readonly sink: LineSink) {}

  feed(input: Uint8Array): void {
    const echo: number[] = [];
    const flushEcho = () => {
      if (echo.length > 0) this.sink.echo(Uint8Array.from(echo.splice(0)));
    };
    for (const b of input) {
      if (this.pending > 0 && (b & 0xc0) === 0x80) {
        if (this.size < MAX_LINE) {
          this.chars[this.chars.length - 1]!.bytes.push(b);
          this.size++;
          echo.push(b);
        }
        this.pending--;
        continue;
      }
      this.pending = 0;
      if (b === 0x0d || b === 0x0a) {
        echo.push(0x0d, 0x0a);
        flushEcho();
        this.handOver(true);
      } else if (b === 0x03) {
        echo.push(0x5e, 0x43, 0x0d, 0x0a); // ^C
        flushEcho();
        this.sink.interrupt();
        return;
      } else if (b === 0x04) {
        flushEcho();
        if (this.chars.length === 0) {
          this.sink.eof();
          return;
        }
        this.handOver(false);
      } else if (b === 0x7f || b === 0x08) {
        this.erase(1, echo);
      } else if (b === 0x15) {
        this.erase(this.chars.length, echo);
      } else if (b === 0x17) {
        const isSpace = (c: Char) => c.bytes.length === 1 && (c.bytes[0] === 0x20 || c.bytes[0] === 0x09);
        let i = this.chars.length;
        while (i > 0 && isSpace(this.chars[i - 1]!)) i--;
        while (i > 0 && !isSpace(this.chars[i - 1]!)) i--;
        this.erase(this.chars.length - i, echo);
      } else if (this.size >= MAX_LINE) {
        echo.push(0x07);
      } else {
        const control = b < 0x20 && b !== 0x09;
        this.chars.push({ bytes: [b], width: control ? 2 : 1 });
        this.size++;
        if (control) echo.push(0x5e, b + 0x40);
        else echo.push(b);
        if (b >= 0xc0) this.pending = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
      }
    }
    flushEcho();
  }

  private erase(n: number, echo: number[]): void {
    for (let k = 0; k < n && this.chars.length > 0; k++) {
      const c = this.chars.pop()!;
      this.size -= c.bytes.length;
      for (let w = 0; w < c.width; w++) echo.push(...ERASE);
    }
  }

  private handOver(newline: boolean): void {
    const bytes = this.chars.flatMap((c) => c.bytes);
    if (newline) bytes.push(0x0a);
    this.chars = [];
    this.size = 0;
    this.sink.line(Uint8Array.from(bytes));
  }
}

/** ONLCR: every "\n" of the guest's output becomes "\r\n". */
export function onlcr(bytes: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  if (n === 0) return bytes;
  const out = new Uint8Array(bytes.length + n);
  let j = 0;
  for (const b of bytes) {
    if (b === 0x0a) out[j++] = 0x0d;
    out[j++] = b;
  }
  return out;
}
