/**
 * Where the browser keeps users' state layers: one state archive per server,
 * user and app (the same bytes `capsule state export` writes, digest
 * included), in the Origin Private File System when the browser has it,
 * else in IndexedDB. Both are private to the page's origin.
 *
 * A save replaces the whole archive in one step: OPFS's writable stream
 * writes a swap file that replaces the old one on close(), and an IndexedDB
 * put is a transaction; so after a crash or a reload the stored state is the
 * old one or the new one, whole, and the archive's own digest is checked on
 * every load.
 */
import {
  decodeArchive,
  encodeArchive,
  splitArchive,
  badArchive,
  type ArchiveRecord,
} from '../../delivery/local/state-archive-format.js';
import { sha256 } from './digest.js';

export interface StateStorage {
  readonly kind: 'opfs' | 'indexeddb';
  load(key: string): Promise<Uint8Array | null>;
  save(key: string, bytes: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
}

const DIR = 'capsule-state';

/** A name safe as one OPFS file name, and distinct for distinct keys. */
const fileName = (key: string) => `${encodeURIComponent(key)}.capstate`;

export class OpfsStateStorage implements StateStorage {
  readonly kind = 'opfs';

  static available(): boolean {
    return (
      typeof navigator !== 'undefined' &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof FileSystemFileHandle !== 'undefined' &&
      'createWritable' in FileSystemFileHandle.prototype
    );
  }

  private async dir(): Promise<FileSystemDirectoryHandle> {
    return (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
  }

  async load(key: string): Promise<Uint8Array | null> {
    try {
      const handle = await (await this.dir()).getFileHandle(fileName(key));
      return new Uint8Array(await (await handle.getFile()).arrayBuffer());
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }

  async save(key: string, bytes: Uint8Array): Promise<void> {
    const handle = await (await this.dir()).getFileHandle(fileName(key), { create: true });
    const out = await handle.createWritable();
    await out.write(bytes as Uint8Array<ArrayBuffer>);
    await out.close();
  }

  async remove(key: string): Promise<void> {
    try {
      await (await this.dir()).removeEntry(fileName(key));
    } catch (e) {
      if ((e as DOMException).name !== 'NotFoundError') throw e;
    }
  }
}

export class IndexedDbStateStorage implements StateStorage {
  readonly kind = 'indexeddb';
  private db: Promise<IDBDatabase> | null = null;

  static available(): boolean {
    return typeof indexedDB !== 'undefined';
  }

  private open(): Promise<IDBDatabase> {
    return (this.db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open('capsule', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('state');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB cannot be opened'));
    }));
  }

  private async run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('state', mode);
      const req = op(tx.objectStore('state'));
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  async load(key: string): Promise<Uint8Array | null> {
    const v = await this.run<unknown>('readonly', (s) => s.get(key));
    return v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : null;
  }

  async save(key: string, bytes: Uint8Array): Promise<void> {
    await this.run('readwrite', (s) => s.put(bytes.slice(), key));
  }

  async remove(key: string): Promise<void> {
    await this.run('readwrite', (s) => s.delete(key));
  }
}

/** OPFS when the browser has it, else IndexedDB; `prefer` forces one (tests run both). */
export function defaultStateStorage(prefer?: 'opfs' | 'indexeddb'): StateStorage {
  if (prefer === 'indexeddb' || !OpfsStateStorage.available()) {
    if (!IndexedDbStateStorage.available())
      throw new Error('this browser offers neither OPFS nor IndexedDB: state cannot be kept');
    return new IndexedDbStateStorage();
  }
  return new OpfsStateStorage();
}

/** A whole state archive for these records (state-archive-format.ts), its digest made with WebCrypto. */
export async function archiveOf(records: Iterable<ArchiveRecord>): Promise<Uint8Array> {
  const body = encodeArchive(records);
  const digest = await sha256(body);
  const out = new Uint8Array(body.length + digest.length);
  out.set(body);
  out.set(digest, body.length);
  return out;
}

/** The records of a whole state archive; BAD_ARCHIVE (StateError) when anything is wrong with it. */
export async function recordsOf(archive: Uint8Array): Promise<ArchiveRecord[]> {
  const { body, digest } = splitArchive(archive);
  const want = await sha256(body);
  if (!want.every((b, i) => b === digest[i]))
    throw badArchive('checksum mismatch (the file is corrupt or was altered)');
  return decodeArchive(body);
}
