/** SHA-256 with WebCrypto (asynchronous: the page's main thread uses it, never the guest's worker). */
import { toHex } from '../../package/hash.js';

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes));
}
