/**
 * The server's metadata: users, tokens, groups, grants, packages, which
 * objects each package holds, and the audit log. Handlers speak only this
 * interface, so a PostgreSQL implementation can replace the embedded SQLite
 * one (sqlite.ts) without touching them. Every method is synchronous and
 * atomic on its own; `transaction` groups several.
 */
import type { Digest, Signature } from '../../package/types.js';

export type Role = 'admin' | 'publisher' | 'user';
export const ROLES: readonly Role[] = ['admin', 'publisher', 'user'];

export interface User {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
}

/** A password as stored: scrypt parameters, salt and hash (auth.ts). */
export interface PasswordRecord {
  salt: string;
  hash: string;
  params: string;
}

export interface Group {
  name: string;
  members: string[];
}

/** An entitlement: `subject` (a user or a group) may use the app `app` (every version). */
export interface Grant {
  app: string;
  kind: 'user' | 'group';
  subject: string;
}

export interface PackageRecord {
  name: string;
  version: string;
  digest: Digest;
  signatures: Signature[];
  publisher: string;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  /** What the action was about, as JSON-safe values. */
  detail: Record<string, unknown>;
}

/**
 * One move of a channel: the version it was pointed at, when and by whom.
 * A rollback does not delete entries, it marks them (`rolledBackAt`), so the
 * whole history stays readable. channels.ts says which version stands.
 */
export interface ChannelEntry {
  id: number;
  version: string;
  at: string;
  by: string;
  /** When a rollback took this entry off its channel; null while it stands. */
  rolledBackAt: string | null;
}

export interface Channel {
  app: string;
  name: string;
  /** Newest first. */
  entries: ChannelEntry[];
}

export interface YankedVersion {
  name: string;
  version: string;
  at: string;
  by: string;
}

/**
 * How an app was launched: streamed from the server, run from the local store
 * (a package that came from the server), downloaded in full, or run as a
 * cloud session. The list grows with new delivery modes.
 */
export const LAUNCH_MODES = ['stream', 'local', 'pull', 'cloud'] as const;
export type LaunchMode = (typeof LAUNCH_MODES)[number];

/** A launch as reported by a client; `id` is the client's, unique per user (so a resend counts once). */
export interface Launch {
  id: string;
  user: string;
  app: string;
  version: string;
  mode: LaunchMode;
  /** When it ran (client clock, ISO 8601 UTC); an offline run is reported later. */
  at: string;
}

/** Launches counted per app, version, user and mode. */
export interface UsageRow {
  app: string;
  version: string;
  user: string;
  mode: string;
  launches: number;
  first: string;
  last: string;
}

export interface UsageFilter {
  app?: string;
  /** Only launches at or after this instant (ISO 8601 UTC). */
  since?: string;
}

/**
 * A web console sign-in (server/console/): the cookie's value is known only
 * by its SHA-256 (like a token), and it carries its own CSRF token, which
 * the console's page sends back in a header on every change it makes.
 */
export interface ConsoleSession {
  user: User;
  csrf: string;
  createdAt: string;
  /** After this instant (ISO 8601 UTC) the cookie is refused. */
  expiresAt: string;
}

export interface MetadataStore {
  transaction<T>(fn: () => T): T;
  /**
   * A value that changes whenever the metadata may have changed: at once
   * for this store's own writes, within 100 ms for another writer of the
   * same database. Caches of access decisions (auth.ts, access.ts) are
   * valid only while it stays the same.
   */
  changeStamp(): string;

  createUser(name: string, role: Role, password: PasswordRecord | null): User;
  userByName(name: string): User | null;
  users(): User[];
  password(userId: number): PasswordRecord | null;

  /** Stores a token by its hash (never the token itself). */
  addToken(userId: number, tokenHash: string, label: string): void;
  userByTokenHash(tokenHash: string): User | null;

  /** Web console sign-ins, by the SHA-256 of the cookie's value. */
  addConsoleSession(idHash: string, userId: number, csrf: string, expiresAt: string): void;
  /** The sign-in, when it exists and has not expired at `now`. */
  consoleSession(idHash: string, now: string): ConsoleSession | null;
  /** Signs out; false when there was no such sign-in. Expired ones are swept on the way. */
  removeConsoleSession(idHash: string, now: string): boolean;

  createGroup(name: string): void;
  hasGroup(name: string): boolean;
  addMember(group: string, userId: number): void;
  groups(): Group[];

  addGrant(grant: Grant): boolean;
  removeGrant(grant: Grant): boolean;
  grants(): Grant[];
  /** Apps the user may use: granted to them or a group of theirs, or published by them. */
  entitledApps(userId: number): string[];

  /** Registers a package and the objects it holds; false when name@version exists. */
  addPackage(record: PackageRecord, objects: Digest[]): boolean;
  packageByRef(name: string, version: string): PackageRecord | null;
  packages(): PackageRecord[];
  /** Names of the apps whose packages hold `digest`. */
  appsHolding(digest: Digest): string[];

  /** Points `app`'s channel at `version` (a new entry on top of its history). */
  addChannelEntry(app: string, channel: string, version: string, by: string): ChannelEntry;
  /** Marks these entries as taken off their channel by a rollback, at `at`. */
  markRolledBack(entryIds: number[], at: string): void;
  /** The channels of `app` (of every app when omitted), by app and name, entries newest first. */
  channels(app?: string): Channel[];

  /** Yanks name@version, or restores it; false when it already was in that state. */
  setYanked(name: string, version: string, yanked: boolean, by: string): boolean;
  /** The yanked versions of `app` (of every app when omitted). */
  yanked(app?: string): YankedVersion[];

  /** Records a launch; false when this user already reported this launch id. */
  addLaunch(launch: Launch): boolean;
  /** Launches counted per app, version, user and mode, filtered; ordered by those four. */
  usage(filter: UsageFilter): UsageRow[];

  audit(actor: string, action: string, detail: Record<string, unknown>): void;
  auditLog(limit: number): AuditEntry[];

  close(): void;
}
