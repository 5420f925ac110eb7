/**
 * Access decisions (who a token is, whether a user may read an object)
 * remembered while the metadata has not changed: every lookup compares the
 * store's change stamp (MetadataStore.changeStamp), so a revoked grant or
 * token takes effect on the very next request, as without the cache. It
 * saves the object route, the busiest by far, two or three queries per
 * request. Bounded: when full it starts afresh.
 */
import type { MetadataStore } from './metadata/types.js';

const MAX_ENTRIES = 100_000;

export class DecisionCache<V> {
  #stamp = '';
  readonly #entries = new Map<string, V>();

  /** The cached value for key, or compute() remembered. */
  get(meta: MetadataStore, key: string, compute: () => V): V {
    const stamp = meta.changeStamp();
    if (stamp !== this.#stamp) {
      this.#entries.clear();
      this.#stamp = stamp;
    }
    const hit = this.#entries.get(key);
    if (hit !== undefined || this.#entries.has(key)) return hit as V;
    const value = compute();
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }
}

/** One cache per metadata store and purpose. */
export function cacheFor<V>(
  registry: WeakMap<MetadataStore, DecisionCache<V>>,
  meta: MetadataStore,
): DecisionCache<V> {
  let cache = registry.get(meta);
  if (!cache) {
    cache = new DecisionCache<V>();
    registry.set(meta, cache);
  }
  return cache;
}
