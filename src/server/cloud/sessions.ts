/**
 * Every cloud session of this server: the caps on how many may run (per
 * user, per host), lookup by id for their owner, listing, and the end of
 * them all when the server stops. A session that ended while no client was
 * attached is kept (as "ended", with its buffered output and exit code) for
 * ten minutes (the latest eight per user), so its user can still attach and
 * read how it ended.
 */
import { randomBytes } from 'node:crypto';
import { HttpError } from '../http-error.js';
import type { CloudLimits } from './limits.js';
import { CloudSession, type CloudSessionInit, type SessionInfo } from './session.js';

export const SESSION_ID_RE = /^s_[A-Za-z0-9_-]{22}$/;

/** How long an ended session that nobody saw end is kept, and how many of them per user. */
const RETAIN_MS = 10 * 60_000;
const RETAIN_PER_USER = 8;

export class SessionTable {
  private readonly sessions = new Map<string, CloudSession>();
  private closing = false;

  constructor(readonly limits: CloudLimits) {}

  running(): CloudSession[] {
    return [...this.sessions.values()].filter((s) => s.running);
  }

  /** Refuses (429 / 503) when a cap is reached; call before preparing a launch. */
  checkCaps(userId: number): void {
    if (this.closing) throw new HttpError(503, 'shutting_down', 'the server is stopping; try again later');
    const running = this.running();
    if (running.length >= this.limits.maxSessions)
      throw new HttpError(
        503,
        'server_full',
        `this server runs its maximum of ${this.limits.maxSessions} sessions; try again later`,
      );
    const mine = running.filter((s) => s.userId === userId).length;
    if (mine >= this.limits.sessionsPerUser)
      throw new HttpError(
        429,
        'too_many_sessions',
        `you have ${mine} sessions running, the most one user may have; end one first ('capsule sessions')`,
      );
  }

  start(init: Omit<CloudSessionInit, 'id' | 'onEnd' | 'limits'>): CloudSession {
    const id = `s_${randomBytes(16).toString('base64url')}`;
    const session = new CloudSession({
      ...init,
      id,
      limits: this.limits,
      onEnd: (s) => this.onEnd(s),
    });
    this.sessions.set(id, session);
    return session;
  }

  private onEnd(s: CloudSession): void {
    // An attached client gets the exit message now; nobody needs the record after that.
    if (s.attached) {
      this.sessions.delete(s.id);
      return;
    }
    const t = setTimeout(() => this.sessions.delete(s.id), RETAIN_MS);
    t.unref();
    // Bounded: a user who starts and abandons many sessions keeps only the latest few records.
    const kept = [...this.sessions.values()].filter((x) => x.userId === s.userId && !x.running);
    for (const old of kept.slice(0, Math.max(0, kept.length - RETAIN_PER_USER))) this.sessions.delete(old.id);
  }

  get(id: string): CloudSession | undefined {
    return this.sessions.get(id);
  }

  list(userId?: number): SessionInfo[] {
    return [...this.sessions.values()]
      .filter((s) => userId === undefined || s.userId === userId)
      .map((s) => s.info())
      .sort((a, b) => a.created.localeCompare(b.created));
  }

  /** Ends every session (server shutdown) and waits for them. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.sessions.values()];
    for (const s of all) s.stop('shutdown', 'the server is stopping');
    await Promise.all(all.map((s) => s.done));
  }
}
