import { WasiContext, type WasiOptions } from './context.js';
import { fdCalls } from './calls-fd.js';
import { pathCalls } from './calls-path.js';
import { miscCalls } from './calls-misc.js';

export { WasiExit, type WasiOptions, type Preopen } from './context.js';
export type { StdioStream } from './fd.js';

/**
 * A WASI preview1 host. `imports` goes into the instance's import object
 * under "wasi_snapshot_preview1"; `start` binds the memory and runs _start.
 * It throws WasiExit when the guest calls proc_exit; a trap propagates as the
 * WebAssembly.RuntimeError it is.
 */
export class WasiHost {
  readonly context: WasiContext;
  readonly imports: Record<string, (...args: never[]) => unknown>;

  constructor(options: WasiOptions) {
    this.context = new WasiContext(options);
    const calls = { ...fdCalls(this.context), ...pathCalls(this.context), ...miscCalls(this.context) };
    const trace = options.onSyscall;
    if (trace) {
      for (const [name, fn] of Object.entries(calls)) {
        (calls as Record<string, unknown>)[name] = (...args: unknown[]) => {
          trace(name);
          return (fn as (...a: unknown[]) => unknown)(...args);
        };
      }
    }
    this.imports = calls as unknown as Record<string, (...args: never[]) => unknown>;
  }

  /** Runs a command module's _start. Returns the exit code (0 when _start returns). */
  start(instance: WebAssembly.Instance): number {
    const { memory, _start } = instance.exports as { memory?: WebAssembly.Memory; _start?: () => void };
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('the module does not export its memory');
    if (typeof _start !== 'function')
      throw new TypeError('the module has no _start function (not a WASI command)');
    this.context.bindMemory(memory);
    _start();
    return 0;
  }
}
