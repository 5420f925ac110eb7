/**
 * Client-side usage reporting (App-V style: offline launches are reported
 * later). Every launch of a package that came from a server is appended to
 * a spool first; the spool is sent to that server on the next contact with
 * it, and a launch leaves the spool only once the server has recorded or
 * refused it. Launch ids are random and the server records an id once per
 * user, so a report sent twice (a process cut off after sending) counts once.
 *
 *   $CAPSULE_HOME/usage/spool.jsonl    one launch a line:
 *     {"server": URL, "id": "<16 base64url>", "app", "version", "mode", "at": ISO-8601}
 *   $CAPSULE_HOME/usage/origins.json   where packages came from, and what a
 *     URL target last resolved to (for runs while the server is unreachable):
 *     {"packages": {"<manifest digest>": {"server", "name", "version"}},
 *      "selections": {"<server> <name>@<spec>": "<version>"}}
 *
 * Both files change under the store lock named `usage`. The spool is capped
 * (MAX_SPOOL_LINES, the oldest dropped): usage is a statistic, not a ledger.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapsuleHome } from '../../store/home.js';
import { withLock } from '../../store/fs/lock.js';
import { RemoteError, type RemoteClient } from './client.js';

export type LaunchMode = 'stream' | 'local' | 'pull' | 'cloud';

export interface SpooledLaunch {
  server: string;
  id: string;
  app: string;
  version: string;
  mode: LaunchMode;
  at: string;
}

interface Origins {
  packages: Record<string, { server: string; name: string; version: string }>;
  selections: Record<string, string>;
}

export const MAX_SPOOL_LINES = 5000;
/** Launches per POST /usage (the server takes up to 1000). */
const BATCH = 500;

const dirOf = (home: CapsuleHome) => join(home.root, 'usage');
const spoolFile = (home: CapsuleHome) => join(dirOf(home), 'spool.jsonl');
const originsFile = (home: CapsuleHome) => join(dirOf(home), 'origins.json');

function locked<T>(home: CapsuleHome, fn: () => T): T {
  mkdirSync(dirOf(home), { recursive: true, mode: 0o700 });
  return withLock(home.store.locks, fn, { name: 'usage', purpose: 'usage spool', timeoutMs: 2000 });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

function readSpool(home: CapsuleHome): SpooledLaunch[] {
  let text: string;
  try {
    text = readFileSync(spoolFile(home), 'utf8');
  } catch {
    return [];
  }
  const out: SpooledLaunch[] = [];
  for (const line of text.split('\n')) {
    try {
      const l = JSON.parse(line) as SpooledLaunch;
      if (typeof l.server === 'string' && typeof l.id === 'string') out.push(l);
    } catch {
      // a torn or damaged line: skipped
    }
  }
  return out;
}

const writeSpool = (home: CapsuleHome, launches: SpooledLaunch[]) =>
  writeAtomic(spoolFile(home), launches.map((l) => JSON.stringify(l) + '\n').join(''));

function readOrigins(home: CapsuleHome): Origins {
  try {
    const v = JSON.parse(readFileSync(originsFile(home), 'utf8')) as Partial<Origins>;
    return { packages: v.packages ?? {}, selections: v.selections ?? {} };
  } catch {
    return { packages: {}, selections: {} };
  }
}

/** Appends a launch to the spool; it is sent on the next contact with its server. */
export function spoolLaunch(
  home: CapsuleHome,
  launch: Omit<SpooledLaunch, 'id' | 'at'> & { at?: string },
): SpooledLaunch {
  const l: SpooledLaunch = {
    ...launch,
    id: randomBytes(12).toString('base64url'),
    at: launch.at ?? new Date().toISOString(),
  };
  locked(home, () => {
    const all = [...readSpool(home), l];
    writeSpool(home, all.slice(-MAX_SPOOL_LINES));
  });
  return l;
}

/** The launches waiting to be sent (to one server, or to all). */
export function spooled(home: CapsuleHome, server?: string): SpooledLaunch[] {
  return readSpool(home).filter((l) => server === undefined || l.server === server);
}

/**
 * Notes that a package came from `server` (pull or stream), and what `spec`
 * (what followed `@`, or "" for none) resolved to there.
 */
export function recordOrigin(
  home: CapsuleHome,
  o: { server: string; name: string; version: string; digest: string; spec: string },
): void {
  locked(home, () => {
    const origins = readOrigins(home);
    origins.packages[o.digest] = { server: o.server, name: o.name, version: o.version };
    origins.selections[`${o.server} ${o.name}@${o.spec}`] = o.version;
    writeAtomic(originsFile(home), JSON.stringify(origins, null, 1) + '\n');
  });
}

/** The server a local package came from, if it came from one. */
export function originOf(
  home: CapsuleHome,
  digest: string,
): { server: string; name: string; version: string } | null {
  return readOrigins(home).packages[digest] ?? null;
}

/** Spools a `local` launch when the package `digest` came from a server; false when it did not. */
export function spoolLocalLaunch(home: CapsuleHome, digest: string): boolean {
  const origin = originOf(home, digest);
  if (origin === null) return false;
  spoolLaunch(home, { server: origin.server, app: origin.name, version: origin.version, mode: 'local' });
  return true;
}

/** What `server`/`name@spec` resolved to the last time the server answered. */
export function lastSelection(home: CapsuleHome, server: string, name: string, spec: string): string | null {
  return readOrigins(home).selections[`${server} ${name}@${spec}`] ?? null;
}

/**
 * Sends the spool's launches for `client`'s server. Launches the server
 * records (or already had) leave the spool, and so do launches it refuses
 * (400/403/404: a revoked grant, say, would otherwise block the rest for
 * ever); when the server cannot be reached or the token is refused, they stay.
 */
export async function flushUsage(client: RemoteClient, home: CapsuleHome): Promise<number> {
  const server = client.base;
  const pending = spooled(home, server);
  if (pending.length === 0) return 0;
  const settled = new Set<string>();
  const send = (launches: SpooledLaunch[]) =>
    client.json('POST', '/usage', {
      launches: launches.map(({ id, app, version, mode, at }) => ({ id, app, version, mode, at })),
    });
  const final = (e: unknown) =>
    e instanceof RemoteError && (e.code === 'REFUSED' || e.code === 'FORBIDDEN' || e.code === 'NOT_FOUND');
  try {
    for (let i = 0; i < pending.length; i += BATCH) {
      const batch = pending.slice(i, i + BATCH);
      try {
        await send(batch);
        for (const l of batch) settled.add(l.id);
      } catch (e) {
        if (!final(e)) throw e;
        // One bad launch refuses the whole report: find it by sending them one by one.
        for (const l of batch) {
          try {
            await send([l]);
          } catch (one) {
            if (!final(one)) throw one;
          }
          settled.add(l.id);
        }
      }
    }
  } catch {
    // Unreachable, or the token is refused: what is left is sent next time.
  } finally {
    if (settled.size > 0)
      locked(home, () =>
        writeSpool(
          home,
          readSpool(home).filter((l) => !(l.server === server && settled.has(l.id))),
        ),
      );
  }
  return settled.size;
}
