export { FsObjectStore, type FsObjectStoreOptions } from './object-store.js';
export { FsRefStore, type Ref } from './refs.js';
export { acquireLock, withLock, StoreLock, type LockOptions, type LockRecord } from './lock.js';
export {
  registerLease,
  scanLeases,
  Lease,
  type LeaseOptions,
  type LeaseRecord,
  type LeaseScan,
} from './lease.js';
export { collectGarbage, type GcOptions, type GcResult } from './gc.js';
export { storeLayout, type StoreLayout } from './layout.js';
export { sha256Digest, verifySha256 } from './sha256.js';
