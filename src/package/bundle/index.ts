/** Bundles, platform-neutral part: the format and its parsing, and the package walk. Node adapters: node.ts. */
export * from './format.js';
export { parseHeader, parseFooter, parseIndex } from './parse.js';
export { packageObjects, type PackageObjects, type WalkOptions } from './closure.js';
