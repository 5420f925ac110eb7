/**
 * The HTTP client of a Capsule server (docs/server.md): JSON calls and
 * object transfers with the bearer token, and the server's answers turned
 * into one error type with a stable code.
 */
export type RemoteErrorCode =
  | 'UNAUTHORIZED' // 401: no token, or one the server does not know
  | 'FORBIDDEN' // 403: not allowed, not entitled, or absent (the server does not say which)
  | 'NOT_FOUND' // 404
  | 'CONFLICT' // 409
  | 'REFUSED' // 400, 413, 422: the server refused what was sent
  | 'UNREACHABLE' // no connection, or a 5xx
  | 'BAD_RESPONSE'; // an answer that is not what the API promises (a wrong digest, bad JSON)

export class RemoteError extends Error {
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** TLS verification failures: the server answered, but with a certificate this client does not trust. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A failure of the transport (fetch's TypeError, with the socket's error as its cause). */
function unreachable(what: string, e: unknown, server?: string): RemoteError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  // Not "unreachable": a run must not fall back to a local copy as if the server were down.
  if (cause?.code && TLS_TRUST_CODES.has(cause.code))
    return new RemoteError(
      'REFUSED',
      `${server ?? what}: the server's TLS certificate is not trusted: ${cause.message ?? cause.code} (${cause.code}); ` +
        'if it is signed by your own CA, set NODE_EXTRA_CA_CERTS to that CA certificate (PEM)',
    );
  const why =
    cause?.code && cause.message ? `${cause.message} (${cause.code})` : (cause?.code ?? cause?.message);
  return new RemoteError('UNREACHABLE', `${what}: ${why ?? (e as Error).message}`);
}

function codeFor(status: number): RemoteErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status >= 500) return 'UNREACHABLE';
  return 'REFUSED';
}

/** `http://host:port` with no trailing slash; throws for anything that is not an http(s) URL. */
export function normalizeServerUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RemoteError('REFUSED', `not a server URL: ${url} (want http://HOST:PORT)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new RemoteError('REFUSED', `not an http(s) URL: ${url}`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** How long a GET may go without a byte before it counts as a broken connection (CAPSULE_STALL_TIMEOUT_MS). */
function stallMs(): number {
  // This client also runs in the browser runtime, where there is no process.
  const v = Number(typeof process === 'undefined' ? undefined : process.env.CAPSULE_STALL_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 20_000;
}

/** Aborts a request when no progress is reported (poke) for stallMs. */
class StallWatch {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly ms = stallMs();
  stalled = false;
  readonly signal = this.controller.signal;

  constructor() {
    this.poke();
  }

  poke(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort();
    }, this.ms);
    // Node: never keep the process alive for it (a browser's timer is a number).
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  reason(): Error {
    return new Error(`no answer for ${this.ms / 1000} s`);
  }
}

export class RemoteClient {
  readonly base: string;

  constructor(
    server: string,
    private readonly token: string | null,
  ) {
    this.base = normalizeServerUrl(server);
  }

  async #fetch(method: string, path: string, body?: Uint8Array | string, type?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (type) headers['content-type'] = type;
    let res: Response;
    // A GET that goes quiet (a server that accepts and never answers, a link
    // that went dark) is given up on after STALL_MS without a byte, like a
    // connection that broke; uploads are left to the transport's own timeouts.
    const watch = method === 'GET' ? new StallWatch() : null;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body as BodyInit | undefined,
        signal: watch?.signal ?? null,
      });
    } catch (e) {
      watch?.stop();
      throw unreachable(`cannot reach ${this.base}`, watch?.stalled ? watch.reason() : e, this.base);
    }
    if (!res.ok && res.status !== 304) {
      this.#watches.delete(res);
      watch?.stop();
      let message = `${res.status} ${res.statusText}`;
      try {
        const j = (await res.json()) as { message?: unknown };
        if (typeof j.message === 'string') message = j.message;
      } catch {
        // not a JSON error body; the status line says enough
      }
      throw new RemoteError(codeFor(res.status), `${this.base}: ${message}`, res.status);
    }
    if (watch) this.#watches.set(res, watch);
    return res;
  }

  /**
   * The whole body. A connection that breaks after the headers (the body cut
   * short, a reset) is UNREACHABLE like one that never connected, so callers
   * retry both the same way.
   */
  async #body(res: Response, path: string): Promise<Uint8Array> {
    const watch = this.#watches.get(res);
    this.#watches.delete(res);
    try {
      if (!watch || !res.body) return new Uint8Array(await res.arrayBuffer());
      const parts: Uint8Array[] = [];
      let size = 0;
      const reader = res.body.getReader();
      for (;;) {
        watch.poke();
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
        size += value.length;
      }
      const out = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    } catch (e) {
      throw unreachable(
        `${this.base}${path}: the connection broke during the answer`,
        watch?.stalled ? watch.reason() : e,
      );
    } finally {
      watch?.stop();
    }
  }

  readonly #watches = new WeakMap<Response, StallWatch>();

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#fetch(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? undefined : 'application/json',
    );
    const text = new TextDecoder().decode(await this.#body(res, path));
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new RemoteError('BAD_RESPONSE', `${this.base}${path}: the answer is not JSON`);
    }
  }

  async bytes(path: string): Promise<{ bytes: Uint8Array; headers: Headers }> {
    const res = await this.#fetch('GET', path);
    return { bytes: await this.#body(res, path), headers: res.headers };
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    const res = await this.#fetch('PUT', path, bytes, 'application/octet-stream');
    await this.#body(res, path);
  }
}

/** Runs `work` over `items` with at most `limit` at a time; the first failure rejects. */
export async function eachLimited<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
