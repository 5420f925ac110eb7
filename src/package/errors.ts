/**
 * The one error type of the package layer. `code` is stable: callers (the CLI,
 * the store, tests) branch on it, never on the message. Messages name the
 * failing field path when there is one, e.g. `layers[2].digest: expected ...`.
 */
export type PackageErrorCode =
  /** A manifest, layer index or profile does not match its schema. */
  | 'INVALID_MANIFEST'
  | 'INVALID_LAYER'
  | 'INVALID_PROFILE'
  /** Bytes that should be canonical JSON are not (other key order, spaces, floats...). */
  | 'NOT_CANONICAL'
  /** A host tree holds something a layer cannot carry (device file, bad name...). */
  | 'UNSAFE_TREE'
  /** A stored chunk does not decode, or decodes to bytes with another digest. */
  | 'CORRUPT_CHUNK'
  /** A chunk uses an encoding this build cannot decode. */
  | 'UNSUPPORTED_ENCODING'
  /** A read outside a file, or of something that is not a regular file. */
  | 'BAD_READ'
  /** A key that cannot be parsed or used. */
  | 'BAD_KEY'
  /** A file that is not a Capsule bundle (wrong magic, shorter than a header). */
  | 'NOT_A_BUNDLE'
  /** A bundle of a format version this build cannot read. */
  | 'UNSUPPORTED_BUNDLE'
  /** A bundle whose footer or index is damaged: truncated, checksum mismatch, bad layout. */
  | 'CORRUPT_BUNDLE'
  /** A bundle that lacks objects its packages need (a layer, a chunk, a profile). */
  | 'INCOMPLETE_BUNDLE'
  /** An import would move an existing name@version to another package. */
  | 'REF_CONFLICT';

export class PackageError extends Error {
  constructor(
    readonly code: PackageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PackageError';
  }
}
