/**
 * Who may read what. An app is visible to admins, to whoever it is granted
 * to (directly or through a group), and to its publisher. An object is
 * visible when at least one package holding it is visible, so a chunk that
 * only hidden apps contain stays hidden while a chunk shared with a visible
 * app does not (the reader already has it through that app). Non-admins get
 * the same 403 for "hidden" and "does not exist" (docs/server.md).
 */
import type { Digest } from '../package/types.js';
import type { MetadataStore, Role, User } from './metadata/types.js';
import { DecisionCache, cacheFor } from './decision-cache.js';
import { forbidden } from './http-error.js';

const RANK: Record<Role, number> = { user: 0, publisher: 1, admin: 2 };

export function requireRole(user: User, role: Role): void {
  if (RANK[user.role] < RANK[role]) throw forbidden(`this needs the ${role} role`);
}

export function canSeeApp(meta: MetadataStore, user: User, app: string): boolean {
  return user.role === 'admin' || meta.entitledApps(user.id).includes(app);
}

const objectDecisions = new WeakMap<MetadataStore, DecisionCache<boolean>>();

export function canSeeObject(meta: MetadataStore, user: User, digest: Digest): boolean {
  if (user.role === 'admin') return true;
  return cacheFor(objectDecisions, meta).get(meta, `${user.id} ${digest}`, () => {
    const holders = meta.appsHolding(digest);
    if (holders.length === 0) return false;
    const mine = new Set(meta.entitledApps(user.id));
    return holders.some((a) => mine.has(a));
  });
}
