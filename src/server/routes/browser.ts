/**
 * The browser runtime (docs/browser.md): the page that runs an app in the
 * tab, the runtime's bundle (built into dist/browser/ by scripts/bundle.mjs),
 * and the version resolution the page asks the server for.
 *
 * Every page and script is sent cross-origin isolated (COOP same-origin,
 * COEP require-corp), which is what lets the page share memory with the
 * guest's worker (SharedArrayBuffer, Atomics.wait: the sync bridge), and
 * with a strict CSP: only this origin's scripts, workers and fetches, and
 * WebAssembly compilation ('wasm-unsafe-eval'), nothing inline. The page
 * embeds nothing from the request, so a crafted URL cannot inject markup.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { NAME_RE } from '../../package/types.js';
import { parseVersionSpec, selectVersion } from '../../delivery/remote/select.js';
import { HttpError, badRequest, notEntitled, notFound, sendJson } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';
import { catalogApps } from './packages.js';

/** dist/browser/, beside dist/src/ where this module runs from. */
const BUNDLE_DIR = fileURLToPath(new URL('../../../browser/', import.meta.url));

export const BROWSER_HEADERS: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Rebuilt with the server; revalidated rather than cached blindly.
  'cache-control': 'no-cache',
};

const ASSETS: Record<string, string> = {
  'capsule.js': 'text/javascript; charset=utf-8',
  'capsule-worker.js': 'text/javascript; charset=utf-8',
  'capsule.js.map': 'application/json; charset=utf-8',
  'capsule-worker.js.map': 'application/json; charset=utf-8',
  'run.css': 'text/css; charset=utf-8',
};

async function sendFile(res: ServerResponse, file: string, type: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(join(BUNDLE_DIR, file));
  } catch {
    throw new HttpError(
      503,
      'not_built',
      "the browser runtime is not built on this server (run 'npm run build')",
    );
  }
  res.writeHead(200, { ...BROWSER_HEADERS, 'content-type': type, 'content-length': body.length });
  res.end(body);
}

/** NAME or NAME@SPEC, where SPEC is what `capsule run URL/NAME@SPEC` accepts. */
function targetParam(ctx: RequestContext): { name: string; spec: string | undefined } {
  const target = ctx.params.target ?? ctx.params.app ?? '';
  const at = target.indexOf('@');
  const name = at < 0 ? target : target.slice(0, at);
  const spec = at < 0 ? undefined : target.slice(at + 1);
  if (!NAME_RE.test(name) || (spec !== undefined && (spec === '' || spec.length > 256)))
    throw badRequest(`not an app: ${JSON.stringify(target.slice(0, 80))} (want NAME or NAME@VERSION)`);
  return { name, spec };
}

async function page(ctx: RequestContext): Promise<void> {
  targetParam(ctx);
  await sendFile(ctx.res, 'run.html', 'text/html; charset=utf-8');
}

async function asset(ctx: RequestContext): Promise<void> {
  const file = ctx.params.file ?? '';
  const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
  if (!type) throw notFound(`no browser asset ${file.slice(0, 80)}`);
  await sendFile(ctx.res, file, type);
}

/** The version the page should run, chosen exactly as the CLI chooses it (delivery/remote/select.ts). */
function resolve(ctx: RequestContext): void {
  const { name, spec } = targetParam(ctx);
  const wanted = parseVersionSpec(spec);
  if (!wanted) throw badRequest(`${spec}: not a version, a version range or a channel name`);
  const app = catalogApps(ctx.state.meta, ctx.user!).find((a) => a.name === name);
  if (!app) throw notEntitled();
  const version = selectVersion(app, wanted);
  if (version === null) throw notFound(`no version of ${name} matches ${spec ?? 'the default channel'}`);
  sendJson(ctx.res, 200, { name, version });
}

export const browserRoutes: Route[] = [
  {
    method: 'GET',
    path: '/run/{app}',
    access: 'public',
    summary: 'A page that runs NAME[@VERSION] in the browser tab (cross-origin isolated; the page signs in)',
    responds: { status: 200, kind: 'bytes', description: 'HTML' },
    handler: page,
  },
  {
    method: 'GET',
    path: '/browser/resolve/{target}',
    access: 'user',
    summary:
      'The version of NAME[@SPEC] the caller gets (channel, range, latest or a pin): {"name", "version"}',
    responds: { status: 200, kind: 'json', description: '{"name", "version"}' },
    handler: resolve,
  },
  {
    method: 'GET',
    path: '/browser/{file}',
    access: 'public',
    summary: "The browser runtime's files: capsule.js, capsule-worker.js, run.css",
    responds: { status: 200, kind: 'bytes', description: 'JavaScript or CSS' },
    handler: asset,
  },
];
