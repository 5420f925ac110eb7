export { startServer, DEFAULT_MAX_OBJECT_BYTES, type ServeOptions, type RunningServer } from './serve.js';
export { HttpError } from './http-error.js';
export type { MetadataStore, Role, User } from './metadata/types.js';
