/**
 * A running server: the data directory opened, the first admin made on an
 * empty one, HTTP listening, and a graceful stop.
 *
 *   DIR/metadata.db    SQLite (WAL): users, tokens, groups, grants, packages, audit
 *   DIR/objects/       the object store (FsObjectStore, store/fs/layout.ts)
 *   DIR/trust/         ed25519 public keys whose signatures the server accepts
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { FsObjectStore } from '../store/fs/index.js';
import { createApp } from './app.js';
import { hashPassword, newToken, tokenHash } from './auth.js';
import { SqliteMetadataStore } from './metadata/sqlite.js';
import type { MetadataStore } from './metadata/types.js';
import { CloudService, type CloudOptions } from './cloud/index.js';

export const DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024;

export interface ServeOptions {
  dataDir: string;
  port?: number;
  host?: string;
  allowUnsigned?: boolean;
  maxObjectBytes?: number;
  /** Becomes the first admin's token on an empty data dir (CAPSULE_ADMIN_TOKEN). */
  adminToken?: string;
  /** Becomes the first admin's password on an empty data dir (CAPSULE_ADMIN_PASSWORD), for the web console. */
  adminPassword?: string;
  /** Serve HTTPS with this certificate (chain) and private key, both PEM. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A TLS-terminating proxy in front: believe its X-Forwarded-Proto (console cookies become Secure). */
  trustProxy?: boolean;
  /** Unexpected errors (500s); the CLI logs them. */
  onError?: (e: unknown) => void;
  /** Cloud sessions: limits and caps (cloud/limits.ts defaults otherwise). */
  cloud?: CloudOptions;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Set only on the first start, when the admin token was generated (show it once). */
  generatedAdminToken: string | null;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the database. */
  close(graceMs?: number): Promise<void>;
}

/** On an empty database: the user `admin` with the given token, or a generated one. */
function bootstrap(
  meta: MetadataStore,
  adminToken: string | undefined,
  adminPassword: string | undefined,
): string | null {
  if (meta.users().length > 0) return null;
  const token = adminToken && adminToken.length >= 16 ? adminToken : newToken();
  if (adminToken !== undefined && adminToken.length < 16)
    throw new Error('CAPSULE_ADMIN_TOKEN must have at least 16 characters');
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 1024))
    throw new Error('CAPSULE_ADMIN_PASSWORD must have 8 to 1024 characters');
  meta.transaction(() => {
    const admin = meta.createUser('admin', 'admin', adminPassword ? hashPassword(adminPassword) : null);
    meta.addToken(admin.id, tokenHash(token), 'bootstrap');
    meta.audit('admin', 'server.bootstrap', { tokenFrom: adminToken ? 'CAPSULE_ADMIN_TOKEN' : 'generated' });
  });
  return adminToken ? null : token;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(join(dataDir, 'trust'), { recursive: true, mode: 0o700 });
  const meta = new SqliteMetadataStore(join(dataDir, 'metadata.db'));
  let generated: string | null;
  try {
    generated = bootstrap(meta, options.adminToken, options.adminPassword);
  } catch (e) {
    meta.close();
    throw e;
  }
  const objects = new FsObjectStore(dataDir);
  const onError = options.onError ?? (() => {});
  const cloud = new CloudService({ meta, objects, dataDir }, options.cloud ?? {}, onError);
  const app = createApp(
    {
      meta,
      objects,
      dataDir,
      allowUnsigned: options.allowUnsigned ?? false,
      maxObjectBytes: options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES,
      trustProxy: options.trustProxy ?? false,
      cloud,
    },
    onError,
  );
  const timeouts = { requestTimeout: 300_000, headersTimeout: 30_000 };
  let server: Server;
  try {
    server = options.tls
      ? createTlsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key }, app)
      : createServer(timeouts, app);
  } catch (e) {
    meta.close();
    throw new Error(`the TLS certificate or key is not usable: ${(e as Error).message}`, { cause: e });
  }
  server.on('upgrade', (req, socket, head) => cloud.upgrade(req, socket, head));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e) => {
      meta.close();
      fail(e);
    });
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  let closing: Promise<void> | null = null;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    generatedAdminToken: generated,
    close(graceMs = 10_000) {
      closing ??= cloud.close().then(
        () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            force.unref();
            // A keep-alive connection whose request ends after close() would idle
            // until its timeout; close such connections as soon as they go idle.
            const sweep = setInterval(() => server.closeIdleConnections(), 50);
            // close() stops accepting and calls back once every connection has ended.
            server.close(() => {
              clearTimeout(force);
              clearInterval(sweep);
              meta.close();
              done();
            });
            server.closeIdleConnections();
          }),
      );
      return closing;
    },
  };
}
