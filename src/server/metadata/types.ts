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

  audit(actor: string, action: string, detail: Record<string, unknown>): void;
  auditLog(limit: number): AuditEntry[];

  close(): void;
}
