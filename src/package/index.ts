/** The package format, platform-neutral part. Node adapters: node.ts. */
export * from './types.js';
export * from './errors.js';
export * from './canonical.js';
export * from './hash.js';
export * from './paths.js';
export * from './chunker.js';
export * from './codec.js';
export * from './chunk-io.js';
export { formatPath } from './fields.js';
export { validateManifest, parseManifest, validateProfile, parseProfile } from './manifest.js';
export { validateLayerIndex, parseLayerIndex, MAX_LAYER_ENTRIES } from './layer-index.js';
export * from './objects.js';
export * from './layer-reader.js';
