/**
 * Admin policy over HTTP: the same settings model and the same files as
 * `capsule policy` (docs/state-and-settings.md), kept in the server's data
 * directory (DIR/policy/<app>.json), which is what cloud sessions compose
 * their views from. Every change is audited.
 *
 *   GET  /admin/policy/{app}          {"app", "policy": {"env", "files", "locked": {"env", "paths"}, "mounts"}}
 *   POST /admin/policy/{app}/{op}     op: set {"key", "value"} | unset {"key"} | lock {"key"} | unlock {"key"}
 *                                         | mounts {"mounts": "allow" | "deny"}
 *
 * KEY is `env.NAME` or an absolute guest path, as on the command line.
 */
import { join } from 'node:path';
import { NAME_RE } from '../../package/types.js';
import { SettingsStore } from '../../delivery/local/settings.js';
import { StateError } from '../../delivery/local/errors.js';
import { readJson, stringField } from '../body.js';
import { HttpError, badRequest, sendJson } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';

const MAX_VALUE_BYTES = 256 * 1024;

function store(ctx: RequestContext): SettingsStore {
  const dir = ctx.state.dataDir;
  return new SettingsStore({ settings: join(dir, 'settings'), policy: join(dir, 'policy') });
}

function appParam(ctx: RequestContext): string {
  const app = ctx.params.app ?? '';
  if (!NAME_RE.test(app)) throw badRequest(`not an app name: ${JSON.stringify(app.slice(0, 80))}`);
  return app;
}

/** Settings errors are the caller's (a bad key or value): 400 with the store's words. */
function asHttp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StateError && e.code !== 'CORRUPT' && e.code !== 'IO') throw badRequest(e.message);
    if (e instanceof StateError) throw new HttpError(500, 'corrupt_policy', e.message);
    throw e;
  }
}

function show(ctx: RequestContext): void {
  const app = appParam(ctx);
  sendJson(ctx.res, 200, { app, policy: asHttp(() => store(ctx).getPolicy(app)) });
}

async function change(ctx: RequestContext): Promise<void> {
  const app = appParam(ctx);
  const op = ctx.params.op ?? '';
  const body = await readJson(ctx.req);
  const s = store(ctx);
  let detail: Record<string, unknown>;
  let changed = true;
  asHttp(() => {
    switch (op) {
      case 'set': {
        const key = stringField(body, 'key');
        const value = stringField(body, 'value');
        if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
          throw badRequest(`a value has at most ${MAX_VALUE_BYTES} bytes`);
        s.setPolicy(app, key, value);
        detail = { key, bytes: Buffer.byteLength(value) };
        return;
      }
      case 'unset':
      case 'unlock': {
        const key = stringField(body, 'key');
        changed = op === 'unset' ? s.unsetPolicy(app, key) : s.unlock(app, key);
        detail = { key };
        return;
      }
      case 'lock': {
        const key = stringField(body, 'key');
        s.lock(app, key);
        detail = { key };
        return;
      }
      case 'mounts': {
        const mounts = stringField(body, 'mounts');
        if (mounts !== 'allow' && mounts !== 'deny') throw badRequest('"mounts" must be allow or deny');
        s.setMounts(app, mounts);
        detail = { mounts };
        return;
      }
      default:
        throw badRequest(
          `no policy operation ${JSON.stringify(op.slice(0, 40))} (set, unset, lock, unlock, mounts)`,
        );
    }
  });
  ctx.state.meta.audit(ctx.user!.name, `policy.${op}`, { app, ...detail!, changed });
  sendJson(ctx.res, 200, { app, policy: s.getPolicy(app), changed });
}

export const policyRoutes: Route[] = [
  {
    method: 'GET',
    path: '/admin/policy/{app}',
    access: 'admin',
    summary: "An app's admin policy on this server: settings, locks, mounts (what cloud sessions get)",
    responds: { status: 200, kind: 'json', description: '{"app", "policy"}' },
    handler: show,
  },
  {
    method: 'POST',
    path: '/admin/policy/{app}/{op}',
    access: 'admin',
    summary:
      'Change the policy: set {"key", "value"}, unset {"key"}, lock {"key"}, unlock {"key"}, mounts {"mounts"}; audited',
    body: 'json',
    responds: { status: 200, kind: 'json', description: '{"app", "policy", "changed"}' },
    handler: change,
  },
];
