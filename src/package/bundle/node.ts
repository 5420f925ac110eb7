/** Bundles for Node: everything in index.ts plus writing, reading in place, verifying and importing files. */
export * from './index.js';
export { writeBundle, type WriteBundleOptions, type WriteBundleResult } from './writer.js';
export { BundleObjectStore, openBundle, type OpenBundle, type OpenBundleOptions } from './reader.js';
export {
  verifyBundle,
  checkPackages,
  describeProblems,
  type BundleReport,
  type VerifyBundleOptions,
} from './verify.js';
export { importBundle, type BundleRefs, type ImportBundleOptions, type ImportResult } from './import.js';
