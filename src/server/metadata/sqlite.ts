/**
 * The embedded MetadataStore: one SQLite file (better-sqlite3, WAL journal)
 * in the data directory. The schema is created on first open and versioned
 * with `user_version`; an older database is migrated forward in one
 * transaction, so a restart on the same data finds it as it was.
 */
import Database from 'better-sqlite3';
import type { Digest, Signature } from '../../package/types.js';
import type {
  AuditEntry,
  Channel,
  ConsoleSession,
  ChannelEntry,
  Grant,
  Group,
  MetadataStore,
  PackageRecord,
  PasswordRecord,
  Launch,
  Role,
  UsageFilter,
  UsageRow,
  User,
  YankedVersion,
} from './types.js';

const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_salt TEXT,
  password_hash TEXT,
  password_params TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  label TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE groups_ (name TEXT PRIMARY KEY);
CREATE TABLE members (
  group_name TEXT NOT NULL REFERENCES groups_(name),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (group_name, user_id)
);
CREATE TABLE grants (
  app TEXT NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  PRIMARY KEY (app, kind, subject)
);
CREATE TABLE packages (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  digest TEXT NOT NULL,
  signatures TEXT NOT NULL,
  publisher TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE package_objects (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  digest TEXT NOT NULL,
  PRIMARY KEY (name, version, digest)
);
CREATE INDEX package_objects_digest ON package_objects(digest);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
`;

/** MIGRATIONS[n] takes a database from schema n to n + 1. */
const MIGRATIONS: Record<number, string> = {
  // 1 -> 2: channels, yanked versions, launches (usage).
  1: `
CREATE TABLE channel_entries (
  id INTEGER PRIMARY KEY,
  app TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  at TEXT NOT NULL,
  by_user TEXT NOT NULL,
  rolled_back_at TEXT
);
CREATE INDEX channel_entries_app ON channel_entries(app, channel);
CREATE TABLE yanked (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  at TEXT NOT NULL,
  by_user TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE launches (
  user_name TEXT NOT NULL,
  id TEXT NOT NULL,
  app TEXT NOT NULL,
  version TEXT NOT NULL,
  mode TEXT NOT NULL,
  at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (user_name, id)
);
CREATE INDEX launches_app_at ON launches(app, at);
`,
  // 2 -> 3: web console sign-ins.
  2: `
CREATE TABLE console_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
`,
};

interface UserRow {
  id: number;
  name: string;
  role: Role;
  created_at: string;
}

const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at });
const now = () => new Date().toISOString();

export class SqliteMetadataStore implements MetadataStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`${file}: metadata schema ${version}, this server knows up to ${SCHEMA_VERSION}`);
    }
    if (version < SCHEMA_VERSION) {
      this.#db.transaction(() => {
        if (version === 0) this.#db.exec(SCHEMA);
        for (let v = Math.max(version, 1); v < SCHEMA_VERSION; v++) this.#db.exec(MIGRATIONS[v]!);
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    }
    // Each query is prepared once and reused: prepare() parses the SQL every
    // time, which was a sixth of the object route's CPU under load. (The SQL
    // texts are constants; the bound only guards against one that is not.)
    const prepare = this.#db.prepare.bind(this.#db);
    const statements = new Map<string, ReturnType<typeof prepare>>();
    this.#db.prepare = ((sql: string) => {
      let stmt = statements.get(sql);
      if (!stmt) {
        stmt = prepare(sql);
        if (statements.size < 500) statements.set(sql, stmt);
      }
      return stmt;
    }) as typeof prepare;
  }

  changeStamp(): string {
    // total_changes(): rows this connection changed (the server's own writes: seen at once).
    // data_version: commits by other connections; it takes a read lock on the WAL, so it is
    // read at most every 100 ms (this server is the database's only writer in normal use).
    // Plucked (a number, no row object) and kept in a field: this runs on every authenticated request.
    this.#totalChanges ??= this.#db.prepare('SELECT total_changes()').pluck();
    const changes = this.#totalChanges.get() as number;
    const now = performance.now();
    if (now - this.#versionAt >= 100) {
      this.#version = (
        this.#db.prepare('PRAGMA data_version').get() as { data_version: number }
      ).data_version;
      this.#versionAt = now;
    }
    // The same string while nothing changed: no new string per request.
    if (changes !== this.#stampChanges || this.#version !== this.#stampVersion) {
      this.#stampChanges = changes;
      this.#stampVersion = this.#version;
      this.#stamp = `${changes}:${this.#version}`;
    }
    return this.#stamp;
  }
  #stamp = '';
  #stampChanges = -1;
  #stampVersion = -1;
  #totalChanges: Database.Statement | undefined;
  #version = 0;
  #versionAt = -Infinity;

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  createUser(name: string, role: Role, password: PasswordRecord | null): User {
    const r = this.#db
      .prepare(
        `INSERT INTO users (name, role, password_salt, password_hash, password_params, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(name, role, password?.salt ?? null, password?.hash ?? null, password?.params ?? null, now());
    return this.userById(Number(r.lastInsertRowid))!;
  }

  userById(id: number): User | null {
    const r = this.#db.prepare('SELECT id, name, role, created_at FROM users WHERE id = ?').get(id);
    return r ? toUser(r as UserRow) : null;
  }

  userByName(name: string): User | null {
    const r = this.#db.prepare('SELECT id, name, role, created_at FROM users WHERE name = ?').get(name);
    return r ? toUser(r as UserRow) : null;
  }

  users(): User[] {
    return (
      this.#db.prepare('SELECT id, name, role, created_at FROM users ORDER BY name').all() as UserRow[]
    ).map(toUser);
  }

  password(userId: number): PasswordRecord | null {
    const r = this.#db
      .prepare(
        'SELECT password_salt AS salt, password_hash AS hash, password_params AS params FROM users WHERE id = ?',
      )
      .get(userId) as { salt: string | null; hash: string | null; params: string | null } | undefined;
    return r && r.salt !== null && r.hash !== null && r.params !== null
      ? { salt: r.salt, hash: r.hash, params: r.params }
      : null;
  }

  addToken(userId: number, tokenHash: string, label: string): void {
    this.#db
      .prepare('INSERT INTO tokens (hash, user_id, label, created_at) VALUES (?, ?, ?, ?)')
      .run(tokenHash, userId, label, now());
  }

  userByTokenHash(tokenHash: string): User | null {
    const r = this.#db
      .prepare(
        `SELECT u.id, u.name, u.role, u.created_at FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = ?`,
      )
      .get(tokenHash);
    return r ? toUser(r as UserRow) : null;
  }

  addConsoleSession(idHash: string, userId: number, csrf: string, expiresAt: string): void {
    this.#db
      .prepare(
        'INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(idHash, userId, csrf, now(), expiresAt);
  }

  consoleSession(idHash: string, at: string): ConsoleSession | null {
    const r = this.#db
      .prepare(
        `SELECT u.id, u.name, u.role, u.created_at, s.csrf, s.created_at AS s_created, s.expires_at
         FROM console_sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`,
      )
      .get(idHash, at) as (UserRow & { csrf: string; s_created: string; expires_at: string }) | undefined;
    if (!r) return null;
    return { user: toUser(r), csrf: r.csrf, createdAt: r.s_created, expiresAt: r.expires_at };
  }

  removeConsoleSession(idHash: string, at: string): boolean {
    return this.transaction(() => {
      const r = this.#db.prepare('DELETE FROM console_sessions WHERE id_hash = ?').run(idHash);
      this.#db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?').run(at);
      return r.changes > 0;
    });
  }

  createGroup(name: string): void {
    this.#db.prepare('INSERT INTO groups_ (name) VALUES (?)').run(name);
  }

  hasGroup(name: string): boolean {
    return this.#db.prepare('SELECT 1 FROM groups_ WHERE name = ?').get(name) !== undefined;
  }

  addMember(group: string, userId: number): void {
    const exists = this.#db
      .prepare('SELECT 1 FROM members WHERE group_name = ? AND user_id = ?')
      .get(group, userId);
    if (!exists)
      this.#db.prepare('INSERT INTO members (group_name, user_id) VALUES (?, ?)').run(group, userId);
  }

  groups(): Group[] {
    const names = this.#db.prepare('SELECT name FROM groups_ ORDER BY name').all() as { name: string }[];
    const members = this.#db
      .prepare(
        'SELECT m.group_name AS g, u.name AS u FROM members m JOIN users u ON u.id = m.user_id ORDER BY u.name',
      )
      .all() as { g: string; u: string }[];
    return names.map(({ name }) => ({ name, members: members.filter((m) => m.g === name).map((m) => m.u) }));
  }

  addGrant(g: Grant): boolean {
    if (this.#hasGrant(g)) return false;
    this.#db
      .prepare('INSERT INTO grants (app, kind, subject) VALUES (?, ?, ?)')
      .run(g.app, g.kind, g.subject);
    return true;
  }

  removeGrant(g: Grant): boolean {
    return (
      this.#db
        .prepare('DELETE FROM grants WHERE app = ? AND kind = ? AND subject = ?')
        .run(g.app, g.kind, g.subject).changes > 0
    );
  }

  #hasGrant(g: Grant): boolean {
    return (
      this.#db
        .prepare('SELECT 1 FROM grants WHERE app = ? AND kind = ? AND subject = ?')
        .get(g.app, g.kind, g.subject) !== undefined
    );
  }

  grants(): Grant[] {
    return this.#db
      .prepare('SELECT app, kind, subject FROM grants ORDER BY app, kind, subject')
      .all() as Grant[];
  }

  entitledApps(userId: number): string[] {
    const rows = this.#db
      .prepare(
        `SELECT g.app AS app FROM grants g JOIN users u ON g.kind = 'user' AND g.subject = u.name WHERE u.id = ?
         UNION
         SELECT g.app FROM grants g JOIN members m ON g.kind = 'group' AND g.subject = m.group_name
           WHERE m.user_id = ?
         UNION
         SELECT p.name FROM packages p JOIN users u ON p.publisher = u.name WHERE u.id = ?`,
      )
      .all(userId, userId, userId) as { app: string }[];
    return rows.map((r) => r.app).sort();
  }

  addPackage(record: PackageRecord, objects: Digest[]): boolean {
    return this.transaction(() => {
      if (this.packageByRef(record.name, record.version)) return false;
      this.#db
        .prepare(
          `INSERT INTO packages (name, version, digest, signatures, publisher, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.name,
          record.version,
          record.digest,
          JSON.stringify(record.signatures),
          record.publisher,
          record.createdAt,
        );
      const add = this.#db.prepare('INSERT INTO package_objects (name, version, digest) VALUES (?, ?, ?)');
      for (const d of new Set(objects)) add.run(record.name, record.version, d);
      return true;
    });
  }

  packageByRef(name: string, version: string): PackageRecord | null {
    const r = this.#db
      .prepare(
        'SELECT name, version, digest, signatures, publisher, created_at FROM packages WHERE name = ? AND version = ?',
      )
      .get(name, version) as PackageRow | undefined;
    return r ? toPackage(r) : null;
  }

  packages(): PackageRecord[] {
    const rows = this.#db
      .prepare(
        'SELECT name, version, digest, signatures, publisher, created_at FROM packages ORDER BY name, version',
      )
      .all() as PackageRow[];
    return rows.map(toPackage);
  }

  appsHolding(digest: Digest): string[] {
    const rows = this.#db
      .prepare('SELECT DISTINCT name FROM package_objects WHERE digest = ? ORDER BY name')
      .all(digest) as { name: string }[];
    return rows.map((r) => r.name);
  }

  addChannelEntry(app: string, channel: string, version: string, by: string): ChannelEntry {
    const at = now();
    const r = this.#db
      .prepare('INSERT INTO channel_entries (app, channel, version, at, by_user) VALUES (?, ?, ?, ?, ?)')
      .run(app, channel, version, at, by);
    return { id: Number(r.lastInsertRowid), version, at, by, rolledBackAt: null };
  }

  markRolledBack(entryIds: number[], at: string): void {
    const mark = this.#db.prepare(
      'UPDATE channel_entries SET rolled_back_at = ? WHERE id = ? AND rolled_back_at IS NULL',
    );
    for (const id of entryIds) mark.run(at, id);
  }

  channels(app?: string): Channel[] {
    const rows = this.#db
      .prepare(
        `SELECT id, app, channel, version, at, by_user, rolled_back_at FROM channel_entries
         WHERE ? IS NULL OR app = ? ORDER BY app, channel, id DESC`,
      )
      .all(app ?? null, app ?? null) as ChannelRow[];
    const out: Channel[] = [];
    for (const r of rows) {
      let c = out[out.length - 1];
      if (!c || c.app !== r.app || c.name !== r.channel) {
        c = { app: r.app, name: r.channel, entries: [] };
        out.push(c);
      }
      c.entries.push({
        id: r.id,
        version: r.version,
        at: r.at,
        by: r.by_user,
        rolledBackAt: r.rolled_back_at,
      });
    }
    return out;
  }

  setYanked(name: string, version: string, yanked: boolean, by: string): boolean {
    if (!yanked)
      return (
        this.#db.prepare('DELETE FROM yanked WHERE name = ? AND version = ?').run(name, version).changes > 0
      );
    const exists = this.#db.prepare('SELECT 1 FROM yanked WHERE name = ? AND version = ?').get(name, version);
    if (exists) return false;
    this.#db
      .prepare('INSERT INTO yanked (name, version, at, by_user) VALUES (?, ?, ?, ?)')
      .run(name, version, now(), by);
    return true;
  }

  yanked(app?: string): YankedVersion[] {
    return this.#db
      .prepare(
        `SELECT name, version, at, by_user AS by FROM yanked WHERE ? IS NULL OR name = ?
         ORDER BY name, version`,
      )
      .all(app ?? null, app ?? null) as YankedVersion[];
  }

  addLaunch(l: Launch): boolean {
    const exists = this.#db
      .prepare('SELECT 1 FROM launches WHERE user_name = ? AND id = ?')
      .get(l.user, l.id);
    if (exists) return false;
    this.#db
      .prepare(
        `INSERT INTO launches (user_name, id, app, version, mode, at, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(l.user, l.id, l.app, l.version, l.mode, l.at, now());
    return true;
  }

  usage(filter: UsageFilter): UsageRow[] {
    return this.#db
      .prepare(
        `SELECT app, version, user_name AS user, mode, COUNT(*) AS launches, MIN(at) AS first, MAX(at) AS last
         FROM launches WHERE (? IS NULL OR app = ?) AND (? IS NULL OR at >= ?)
         GROUP BY app, version, user_name, mode ORDER BY app, version, user_name, mode`,
      )
      .all(filter.app ?? null, filter.app ?? null, filter.since ?? null, filter.since ?? null) as UsageRow[];
  }

  audit(actor: string, action: string, detail: Record<string, unknown>): void {
    this.#db
      .prepare('INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)')
      .run(now(), actor, action, JSON.stringify(detail));
  }

  auditLog(limit: number): AuditEntry[] {
    const rows = this.#db
      .prepare('SELECT id, at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?')
      .all(limit) as { id: number; at: string; actor: string; action: string; detail: string }[];
    return rows.reverse().map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

interface ChannelRow {
  id: number;
  app: string;
  channel: string;
  version: string;
  at: string;
  by_user: string;
  rolled_back_at: string | null;
}

interface PackageRow {
  name: string;
  version: string;
  digest: string;
  signatures: string;
  publisher: string;
  created_at: string;
}

function toPackage(r: PackageRow): PackageRecord {
  return {
    name: r.name,
    version: r.version,
    digest: r.digest,
    signatures: JSON.parse(r.signatures) as Signature[],
    publisher: r.publisher,
    createdAt: r.created_at,
  };
}
