/**
 * Walking the object graph, for gc and `capsule verify`. Platform-neutral:
 * it only needs an ObjectStore and a function that names an object's
 * children. That function comes from package/ (manifest -> layers,
 * dependencies, profile, signatures; layer index -> chunks), so this layer
 * never parses package formats itself.
 */
import type { Digest } from '../package/types.js';
import { assertDigest } from './digest.js';
import { StoreError, type ObjectStore, type Verifier } from './types.js';

/**
 * What an object points at. `objects` are read (checked as SHA-256 of their
 * stored bytes) and walked in turn. Chunks must be `leaves`: they are marked
 * without being read, because they have no children, reading every chunk
 * would mean reading the whole store, and their digest names their decoded
 * bytes, so the default check would call them corrupt.
 */
export interface Edges {
  objects: Digest[];
  leaves?: Digest[];
}

/** Children of a metadata object; a plain array means every child is read and walked. */
export type ChildrenOf = (digest: Digest, bytes: Uint8Array) => Digest[] | Edges;

export interface Reachable {
  /** Every digest reachable from the roots, present or not. */
  marked: Set<Digest>;
  /** Walked objects that are not in the store (a root whose package was removed, say). */
  missing: Digest[];
}

/**
 * Marks everything reachable from `roots`. A walked object that is corrupt
 * throws StoreError CORRUPT: its children are unknown, so nothing below it
 * can be called unreachable.
 */
export function reachable(store: ObjectStore, roots: Iterable<Digest>, children: ChildrenOf): Reachable {
  const marked = new Set<Digest>();
  const missing: Digest[] = [];
  const stack: Digest[] = [];
  const push = (d: Digest): void => {
    assertDigest(d);
    if (marked.has(d)) return;
    marked.add(d);
    stack.push(d);
  };
  for (const root of roots) push(root);
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    let bytes: Uint8Array;
    try {
      bytes = store.read(d);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'NOT_FOUND') {
        missing.push(d);
        continue;
      }
      throw e;
    }
    const edges = children(d, bytes);
    const { objects, leaves = [] } = Array.isArray(edges) ? { objects: edges } : edges;
    for (const child of objects) push(child);
    for (const leaf of leaves) {
      assertDigest(leaf);
      marked.add(leaf);
    }
  }
  return { marked, missing };
}

export interface VerifyReport {
  checked: number;
  corrupt: Digest[];
  /** Only when `digests` was given: the ones that are not in the store. */
  missing: Digest[];
}

/**
 * Reads and verifies every object (or just `digests`). `verify` must accept
 * every kind of object it meets: for a whole store, one that checks chunks
 * by their decoded bytes and everything else by its stored bytes.
 */
export function verifyAll(store: ObjectStore, verify: Verifier, digests?: Iterable<Digest>): VerifyReport {
  const report: VerifyReport = { checked: 0, corrupt: [], missing: [] };
  for (const d of digests ?? store.list()) {
    report.checked++;
    try {
      store.read(d, verify);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      if (e.code === 'CORRUPT') report.corrupt.push(d);
      else if (e.code === 'NOT_FOUND') report.missing.push(d);
      else throw e;
    }
  }
  report.corrupt.sort();
  report.missing.sort();
  return report;
}
