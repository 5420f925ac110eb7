/**
 * Function-level streaming, the runtime's side. A split entry module (see
 * SplitInfo in package/types.ts) imports one placeholder function per
 * split-out function from PLACEHOLDER_NS, named by the table slot the real
 * function will occupy. The primary's code reaches split-out functions only
 * through that table, so the first call to any of them lands in a
 * placeholder here: it loads the secondary module (blocking on the bridge in
 * a streamed run), instantiates it against the primary's exports — its
 * active element segments overwrite the placeholders' table slots with the
 * real functions — and forwards the call. From then on the primary calls the
 * real functions straight through the table; no placeholder runs again.
 */

/** Where the primary imports its placeholders from. */
export const PLACEHOLDER_NS = 'capsule:placeholder';
/** Where the secondary imports the primary's memory, table, globals and functions from. */
export const PRIMARY_NS = 'capsule:primary';
/** Prefix of the exports wasm-split adds to the primary for the secondary's use. */
export const SPLIT_EXPORT_PREFIX = 'capsule:';
/** The export an instrumented module (`wasm-split --instrument`) writes its function profile with. */
export const PROFILE_EXPORT = '__write_profile';

/** The secondary could not be loaded or does not fit the primary: capsule's failure (exit 125). */
export class SplitError extends Error {
  readonly exitCode = 125;
}

/**
 * The placeholder imports a split primary needs, or null when `module` is not
 * a split primary. `load` supplies the secondary's bytes (once); `primary`
 * returns the primary's instance (the placeholders run only after it exists).
 */
export function placeholderImports(
  module: WebAssembly.Module,
  load: (() => Uint8Array) | undefined,
  primary: () => WebAssembly.Instance,
): Record<string, (...args: unknown[]) => unknown> | null {
  const slots = WebAssembly.Module.imports(module).filter((i) => i.module === PLACEHOLDER_NS);
  if (slots.length === 0) return null;
  let table: WebAssembly.Table | null = null;

  const loadSecondary = (): WebAssembly.Table => {
    if (!load) throw new SplitError('the module is a split primary but its secondary module is unknown');
    const exports = primary().exports;
    let secondary: WebAssembly.Module;
    try {
      secondary = new WebAssembly.Module(load() as Uint8Array<ArrayBuffer>);
    } catch (e) {
      if (e instanceof SplitError || (e as { exitCode?: number }).exitCode !== undefined) throw e;
      throw new SplitError(`the secondary module is not valid WebAssembly: ${(e as Error).message}`);
    }
    const tableImport = WebAssembly.Module.imports(secondary).find(
      (i) => i.module === PRIMARY_NS && i.kind === 'table',
    );
    const t = tableImport && exports[tableImport.name];
    if (!(t instanceof WebAssembly.Table))
      throw new SplitError("the secondary module does not import the primary's table");
    try {
      new WebAssembly.Instance(secondary, { [PRIMARY_NS]: exports });
    } catch (e) {
      throw new SplitError(`the secondary module does not fit the primary: ${(e as Error).message}`);
    }
    return t;
  };

  const fns: Record<string, (...args: unknown[]) => unknown> = {};
  for (const { name } of slots) {
    const slot = Number(name);
    if (!Number.isInteger(slot) || slot < 0) return null; // not one of ours: let instantiation report it
    fns[name] = (...args: unknown[]) => {
      const loadedBefore = table !== null;
      table ??= loadSecondary();
      // Once the secondary is in, its functions own these slots; a placeholder
      // still called means the secondary did not fill this one.
      if (loadedBefore) throw new SplitError(`the secondary module does not define table slot ${slot}`);
      const f = table.get(slot) as ((...a: unknown[]) => unknown) | null;
      if (typeof f !== 'function' || f === fns[name])
        throw new SplitError(`the secondary module does not define table slot ${slot}`);
      return f(...args);
    };
  }
  return fns;
}

/**
 * After a run of an instrumented module: its function profile (which
 * functions ran, in first-call order), written into the guest's memory by
 * the module's own export, or null if the module is not instrumented.
 */
export function readFunctionProfile(instance: WebAssembly.Instance): Uint8Array | null {
  const write = instance.exports[PROFILE_EXPORT];
  const memory = instance.exports.memory;
  if (typeof write !== 'function' || !(memory instanceof WebAssembly.Memory)) return null;
  const writeProfile = write as (addr: number, size: number) => number;
  // Asked with no room, it tells the size it needs and writes nothing.
  const size = writeProfile(0, 0) >>> 0;
  let at = memory.buffer.byteLength;
  try {
    memory.grow(Math.ceil(size / 65536));
  } catch {
    // At its maximum: the run is over, so its memory from 0 is free to use.
    at = 0;
  }
  if (at + size > memory.buffer.byteLength) return null;
  const n = writeProfile(at, size) >>> 0;
  return new Uint8Array(memory.buffer, at, n).slice();
}
