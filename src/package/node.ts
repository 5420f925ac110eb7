/** The package format for Node: everything in index.ts plus the node:crypto, zstd-napi and fs adapters. */
export * from './index.js';
export { nodeHasher, sha256Digest } from './hash-node.js';
export { nodeDecoders, encodeChunk, DEFAULT_ZSTD_LEVEL, type EncodeCodec } from './codec-node.js';
export { scanTree, type ScannedEntry } from './tree-scan.js';
// packTree's writeManifest defaults the hasher to node:crypto; it shadows the neutral one.
export { packTree, writeManifest, type PackOptions, type PackResult, type PackStats } from './pack.js';
export * from './sign.js';
