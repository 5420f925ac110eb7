import { MemoryObjectStore } from './memory.js';
import { verifySha256 } from './fs/sha256.js';
import { runObjectStoreContract } from './store.case.test.js';

runObjectStoreContract('MemoryObjectStore', () => ({
  store: new MemoryObjectStore({ verify: verifySha256 }),
}));
