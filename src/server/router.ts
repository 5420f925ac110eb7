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

export interface CompiledRoute extends Route {
  re: RegExp;
  names: string[];
}

export function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{([a-z]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, re: new RegExp(`^${source}$`), names };
}

/** The route for a method and path, or why there is none (404 or 405). */
export function match(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | 'not_found' | 'method_not_allowed' {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
    const params: Record<string, string> = {};
    route.names.forEach((n, i) => {
      params[n] = m[i + 1]!;
    });
    return { route, params };
  }
  return pathMatched ? 'method_not_allowed' : 'not_found';
}
