/**
 * The Capsule package format, version 1. Every object is content-addressed:
 * its identity is the SHA-256 of its bytes, written `sha256:<64 lowercase hex>`.
 *
 * Objects
 *   manifest      canonical JSON (see canonical.ts) of `Manifest`. Its digest is the
 *                 package's identity. Signatures sign this digest string.
 *   layer index   canonical JSON of `LayerIndex`.
 *   profile       canonical JSON of `LaunchProfile`.
 *   chunk         a piece of a file's bytes. Its digest is the SHA-256 of the *plain*
 *                 bytes; what is stored is the encoded form (see `ChunkEncoding`), so
 *                 the codec can change without changing identities.
 *
 * A package is `name@version`: a manifest plus an ordered list of layers (bottom
 * first), composed over the layers of its dependencies.
 */

/** `sha256:` followed by 64 lowercase hex digits. */
export type Digest = string;

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** App names: lowercase, digits, ".", "_", "-"; 1-64 chars, starting with a letter or digit. */
export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Semantic versions (semver 2.0): MAJOR.MINOR.PATCH, numbers without leading
 * zeros, then an optional "-" pre-release of dot-separated identifiers
 * (numeric ones without leading zeros) and an optional "+" build.
 */
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][\dA-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][\dA-Za-z-]*))*))?(?:\+([\dA-Za-z-]+(?:\.[\dA-Za-z-]+)*))?$/;

/**
 * The largest plain chunk any reader accepts (16 MiB). The chunker's own
 * maximum is far below; this bounds what a hostile index or chunk can make a
 * reader allocate.
 */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

export const MANIFEST_SCHEMA = 'capsule.manifest/v1';
export const LAYER_SCHEMA = 'capsule.layer/v1';
export const PROFILE_SCHEMA = 'capsule.profile/v1';

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  name: string;
  /** Semantic version (semver 2.0: MAJOR.MINOR.PATCH[-pre][+build]). */
  version: string;
  /** Absolute guest path of the .wasm to run, e.g. "/bin/sqlite3.wasm". */
  entry: string;
  /** Default arguments, after argv[0] (which is the entry path). */
  args: string[];
  /** Package-default environment (the bottom of the settings stack). */
  env: Record<string, string>;
  /** Absolute guest working directory; "/" by default. */
  cwd: string;
  /** This package's own layers, bottom first. */
  layers: LayerRef[];
  /** Packages composed underneath, bottom first, resolved to digests at pack time. */
  dependencies: Dependency[];
  /** Host access the app asks for; granted (or not) at run time. */
  permissions: Permissions;
  /** Settings defaults: files the settings system owns (guest path -> content). */
  settings: SettingsDefaults;
  /** The launch profile object, if one was recorded. */
  profile: Digest | null;
  /** Free-form, not interpreted: description, homepage, license. */
  annotations: Record<string, string>;
  /** Present when the entry module is split for function-level streaming. */
  split?: SplitInfo;
}

/**
 * Function-level streaming. A profiled run (`capsule profile record --split`)
 * split the entry module with binaryen's wasm-split: the file at `entry` is
 * now the primary module (the functions the profiled run called, plus a
 * placeholder import from "capsule:placeholder" for each one moved out, named
 * by its table slot) and `secondary` holds the rest, importing the primary's
 * memory, table, globals and functions from "capsule:primary". The runtime
 * instantiates the secondary on the first call to any placeholder (docs/streaming.md).
 */
export interface SplitInfo {
  /** Absolute guest path of the secondary module, in this package's layers. */
  secondary: string;
  /** Functions defined in the primary and in the secondary module. */
  primaryFunctions: number;
  secondaryFunctions: number;
}

export interface LayerRef {
  digest: Digest;
  /** Sum of the plain sizes of all regular files in the layer. */
  size: number;
  /** Number of entries (files, directories, symlinks). */
  entries: number;
}

export interface Dependency {
  name: string;
  /** The range asked for, e.g. "^1.2.0"; kept for humans and re-resolution. */
  range: string;
  /** What it resolved to at pack time: the dependency's manifest digest. */
  digest: Digest;
  /** The exact version resolved. */
  version: string;
}

export interface Permissions {
  /** Host directories the app wants, by guest path (unique). */
  dirs: { guest: string; access: 'ro' | 'rw'; reason?: string | undefined }[];
}

export interface SettingsDefaults {
  /** Guest path (absolute) -> UTF-8 content, e.g. "/etc/app.conf". */
  files: Record<string, string>;
}

export type EntryType = 'file' | 'dir' | 'symlink';

/**
 * One entry of a layer. Field by field:
 *   path    relative to the view root, "/"-separated, no leading "/", no "", "." or ".."
 *           component, no NUL, valid UTF-8, at most 4096 bytes. The root itself is not an entry.
 *   type    file | dir | symlink
 *   mode    permission bits, 0 to 0o777 (setuid/setgid/sticky are dropped when packing)
 *   size    plain size in bytes for files; 0 for dirs and symlinks
 *   target  symlinks only: the link target, verbatim (relative or absolute within the view)
 *   chunks  files only: the chunks in file order; their sizes add up to `size`
 */
export interface LayerEntry {
  path: string;
  type: EntryType;
  mode: number;
  size: number;
  target?: string;
  chunks?: ChunkRef[];
}

export interface ChunkRef {
  digest: Digest;
  /** Plain size in bytes. */
  size: number;
}

/**
 * A layer's index. `entries` is sorted by path in UTF-8 byte order, which puts
 * every directory before its contents; `whiteouts` (paths deleted from the
 * layers below) and `opaque` (directories that hide everything below them)
 * are sorted the same way.
 */
export interface LayerIndex {
  schema: typeof LAYER_SCHEMA;
  entries: LayerEntry[];
  whiteouts: string[];
  opaque: string[];
}

/**
 * The chunks (and later, functions) an app touched before its first output,
 * in order. Streaming prefetches them first.
 */
export interface LaunchProfile {
  schema: typeof PROFILE_SCHEMA;
  /** The package it was recorded for. */
  manifest: Digest;
  /** Distinct chunks read before the first output, in the order first read. */
  chunks: Digest[];
  /** The arguments of the recorded run. */
  args: string[];
  /** Distinct chunks first read after the first output, until the run ended (prefetched later). */
  after?: Digest[];
}

/**
 * The stored form of a chunk: one header byte naming the codec, then the
 * payload.
 *   0 RAW   the plain bytes as they are (used when compressing saves < 5%);
 *   1 ZSTD  exactly one zstd frame (RFC 8878) whose header carries the
 *           content size, which must equal the plain size; no trailing bytes;
 *   2 GZIP  one gzip member (RFC 1952). Readable, never written by default.
 * Any other header byte is refused (UNSUPPORTED_ENCODING).
 */
export const ChunkEncoding = { RAW: 0, ZSTD: 1, GZIP: 2 } as const;

/** A detached signature: ed25519 over the UTF-8 bytes of the manifest digest string. */
export interface Signature {
  /** The signer's key id: the digest of its raw 32-byte public key. */
  keyId: Digest;
  algorithm: 'ed25519';
  /** Base64 of the 64-byte signature. */
  signature: string;
}
