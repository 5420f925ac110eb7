import { MemoryObjectStore } from './memory.js';
import { verifySha256 } from './fs/sha256.js';
import { runObjectBatchContract } from './batch.case.test.js';
import { runObjectStoreContract } from './store.case.test.js';

runObjectStoreContract('MemoryObjectStore', () => ({
  store: new MemoryObjectStore({ verify: verifySha256 }),
}));

runObjectBatchContract('MemoryObjectStore', () => ({
  store: new MemoryObjectStore({ verify: verifySha256 }),
}));
