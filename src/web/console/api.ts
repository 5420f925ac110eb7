/**
 * The console's calls to its own server. The sign-in is the HttpOnly
 * cookie, which fetch sends by itself (same origin); every request that may
 * change something carries the sign-in's CSRF token in X-CSRF-Token
 * (docs/console.md). Errors come back as ApiError with the server's code
 * and message, which the pages show as they are (as text).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface User {
  id: number;
  name: string;
  role: 'admin' | 'publisher' | 'user';
}

let csrf = '';
export const setCsrf = (token: string) => (csrf = token);

export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  raw?: { bytes: Blob | ArrayBuffer; type: string },
): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf;
  let payload: BodyInit | undefined;
  if (raw) {
    headers['content-type'] = raw.type;
    payload = raw.bytes;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'unreachable', 'the server cannot be reached; check your connection and try again');
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const code = typeof json.error === 'string' ? json.error : `http_${res.status}`;
    const message = typeof json.message === 'string' ? json.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, code, message);
  }
  return json as T;
}

export const get = <T = Record<string, unknown>>(path: string) => call<T>('GET', path);
export const post = <T = Record<string, unknown>>(path: string, body: unknown = {}) =>
  call<T>('POST', path, body);

export const enc = encodeURIComponent;
