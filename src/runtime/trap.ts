import { WasiExit } from '../wasi/host.js';

/** Turns what a guest threw into a one-line reason and the wasm function it happened in. */
export interface TrapInfo {
  reason: string;
  func: string | null;
}

export function describeTrap(err: unknown): TrapInfo {
  const e = err as { message?: string; stack?: string; name?: string };
  let reason = String(e?.message ?? err);
  if (e?.name === 'RangeError' && /call stack/i.test(reason)) reason = 'call stack exhausted';
  let func: string | null = null;
  for (const line of String(e?.stack ?? '').split('\n')) {
    // V8 prints wasm frames as "at name (wasm://wasm/<hash>:wasm-function[<index>]:0x<offset>)".
    // Without a name section there is no name: "at wasm://wasm/<hash>:wasm-function[<index>]:0x<offset>".
    const m = /^\s*at (?:(.*?) \(?)?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:(0x[0-9a-f]+)\)?/.exec(line);
    if (m) {
      const name = (m[1] ?? '').replace(/^.*?\.wasm\./, '').trim();
      func =
        name && !name.startsWith('wasm://')
          ? `${name} (function ${m[2]}, offset ${m[3]})`
          : `function ${m[2]} at ${m[3]}`;
      break;
    }
  }
  return { reason, func };
}

/** How a guest's run ended, as its worker reports it. */
export type GuestEnd =
  | { t: 'exit'; code: number }
  | { t: 'fail'; code: number; message: string }
  | { t: 'trap'; reason: string; func: string | null };

/** What the guest's start threw, as an end: its exit, capsule's own failure, a module that cannot start, or a trap. */
export function endOf(e: unknown, label: string): GuestEnd {
  if (e instanceof WasiExit) return { t: 'exit', code: e.code };
  const exitCode = (e as { exitCode?: number }).exitCode;
  // Capsule's own failure inside the run (a split module's secondary could not be had).
  if (exitCode !== undefined)
    return { t: 'fail', code: exitCode, message: `${label}: ${(e as Error).message}` };
  if (e instanceof TypeError && /_start|export its memory/.test(e.message))
    return { t: 'fail', code: 126, message: `${label} cannot be started: ${e.message}` };
  const info = describeTrap(e);
  return { t: 'trap', reason: info.reason, func: info.func };
}
