export type { ObjectStore, StoreErrorCode, Verifier } from './types.js';
export { StoreError } from './types.js';
export { MemoryObjectStore, type MemoryObjectStoreOptions } from './memory.js';
export { assertDigest, checkBytes } from './digest.js';
export {
  reachable,
  verifyAll,
  type ChildrenOf,
  type Edges,
  type Reachable,
  type VerifyReport,
} from './walk.js';
