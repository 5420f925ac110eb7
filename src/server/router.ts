/**
 * Routes are plain data: a method, a path pattern (`/objects/{digest}`), who
 * may call it, a handler, and the words the OpenAPI document uses. The app
 * (app.ts) matches them; openapi.ts describes them. A `{param}` matches one
 * path segment, which the handler validates before using it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FsObjectStore } from '../store/fs/index.js';
import type { MetadataStore, Role, User } from './metadata/types.js';
import type { CloudService } from './cloud/index.js';

export interface ServerState {
  meta: MetadataStore;
  objects: FsObjectStore;
  /** The data directory; trusted signing keys are in DIR/trust. */
  dataDir: string;
  allowUnsigned: boolean;
  /** The largest object an upload may carry, in bytes. */
  maxObjectBytes: number;
  /** Believe X-Forwarded-Proto (a TLS-terminating proxy in front): console cookies become Secure. */
  trustProxy?: boolean;
  /** Cloud sessions (cloud/), when this server runs them. */
  cloud?: CloudService;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The caller; only `null` on routes with `access: 'public'`. */
  user: User | null;
  state: ServerState;
}

/** Who may call a route: anyone, any user with a token, or at least this role. */
export type Access = 'public' | Role;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  access: Access;
  summary: string;
  /** OpenAPI: a request body of this kind. */
  body?: 'json' | 'bytes';
  /** OpenAPI: the success status and what it returns. */
  responds?: { status: number; kind: 'json' | 'bytes' | 'none'; description: string };
  handler: (ctx: RequestContext) => Promise<void> | void;
}

interface CompiledRoute {
  route: Route;
  re: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{([a-z]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, re: new RegExp(`^${source}$`), names };
}

/** `/objects/x` -> `objects`; `/` -> ``. */
function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return end < 0 ? path.slice(1) : path.slice(1, end);
}

/** A route's parameters, in the order of its path, still percent-encoded. */
export interface Match {
  route: Route;
  names: string[];
  values: string[];
}

/**
 * The routes, grouped by their first path segment so that a request is
 * matched against the few routes that can match it rather than all of them.
 * Within a group the routes keep their order, so the first route that
 * matches wins, as in one list.
 */
export class RouteTable {
  readonly #groups = new Map<string, CompiledRoute[]>();
  /** The routes whose first segment is a parameter: in every group, and alone for other segments. */
  readonly #anySegment: CompiledRoute[] = [];

  constructor(routes: Route[]) {
    const compiled = routes.map(compile);
    for (const c of compiled) if (c.route.path.startsWith('/{')) this.#anySegment.push(c);
    for (const c of compiled) {
      const first = firstSegment(c.route.path);
      if (first.startsWith('{') || this.#groups.has(first)) continue;
      this.#groups.set(
        first,
        compiled.filter((o) => o.route.path.startsWith('/{') || firstSegment(o.route.path) === first),
      );
    }
  }

  /** The route for a method and path, or why there is none (404 or 405). */
  match(method: string, path: string): Match | 'not_found' | 'method_not_allowed' {
    const group = this.#groups.get(firstSegment(path)) ?? this.#anySegment;
    // The routes for this method first (the method is cheaper to compare than a path)...
    for (const c of group) {
      if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
      const m = c.re.exec(path);
      if (m) return { route: c.route, names: c.names, values: m.slice(1) };
    }
    // ...then, for the error, whether the path is there for another method.
    return group.some((c) => c.re.test(path)) ? 'method_not_allowed' : 'not_found';
  }
}

/**
 * A path made only of these characters, with no `.` or `..` segment and not
 * starting with `//`, is its own pathname: URL parsing would neither
 * percent-encode, decode nor normalise any of it.
 */
const PLAIN_PATH_RE = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT_RE = /\/\.\.?(?:\/|$)/;

/** The request's path and query, as `new URL` reads them, without parsing a URL when there is no need. */
export function requestTarget(raw: string): { path: string; query: URLSearchParams } {
  if (PLAIN_PATH_RE.test(raw) && !DOT_SEGMENT_RE.test(raw))
    return { path: raw, query: new URLSearchParams() };
  const url = new URL(raw, 'http://capsule.invalid');
  return { path: url.pathname, query: url.searchParams };
}
