/**
 * The console's page and assets, built by scripts/bundle.mjs into
 * dist/console/ (esbuild bundles src/web/console/ with xterm.js; nothing is
 * loaded from anywhere else). One HTML page; the console routes itself in
 * the URL's fragment (#/catalog, #/admin/users), so reload and the back
 * button work without the server knowing its pages.
 *
 * Headers: a strict CSP (scripts, styles, fonts, media and connections from
 * this origin only, no inline script, no plugins, no framing, no <base>), and
 * cross-origin isolation (COOP + COEP), so the page may share memory with a
 * worker, as the browser runtime needs.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { HttpError, notFound } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';

/** dist/console/, beside dist/src/ where this module runs from. */
const ASSET_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  // xterm.js writes its measured cell sizes and theme into <style> elements it creates.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "media-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-cache',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  woff2: 'font/woff2',
};

const ASSET_RE = /^[a-z0-9][a-z0-9.-]{0,63}\.(js|css|map|svg|woff2)$/;

async function sendAsset(ctx: RequestContext, file: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(join(ASSET_DIR, file));
  } catch {
    if (file === 'index.html')
      throw new HttpError(
        503,
        'not_built',
        "the web console is not built on this server (run 'npm run build')",
      );
    throw notFound(`no console asset ${file}`);
  }
  const type = TYPES[file.slice(file.lastIndexOf('.') + 1)]!;
  ctx.res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': type, 'content-length': body.length });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

function redirect(ctx: RequestContext, to: string): void {
  ctx.res.writeHead(302, { location: to, 'content-length': 0, 'cache-control': 'no-store' });
  ctx.res.end();
}

export const staticRoutes: Route[] = [
  {
    method: 'GET',
    path: '/',
    access: 'public',
    summary: 'Redirects to the web console',
    responds: { status: 302, kind: 'none', description: 'to /console/' },
    handler: (ctx) => redirect(ctx, '/console/'),
  },
  {
    method: 'GET',
    path: '/console',
    access: 'public',
    summary: 'Redirects to the web console',
    responds: { status: 302, kind: 'none', description: 'to /console/' },
    handler: (ctx) => redirect(ctx, '/console/'),
  },
  {
    method: 'GET',
    path: '/console/',
    access: 'public',
    summary: 'The web console (docs/console.md)',
    responds: { status: 200, kind: 'bytes', description: 'HTML' },
    handler: (ctx) => sendAsset(ctx, 'index.html'),
  },
  {
    method: 'GET',
    path: '/console/assets/{file}',
    access: 'public',
    summary: "The console's scripts, styles and fonts (built into dist/console/)",
    responds: { status: 200, kind: 'bytes', description: 'JavaScript, CSS, a source map or a font' },
    handler: async (ctx) => {
      const file = ctx.params.file ?? '';
      if (!ASSET_RE.test(file) || file.includes('..'))
        throw notFound(`no console asset ${file.slice(0, 80)}`);
      await sendAsset(ctx, file);
    },
  },
];
