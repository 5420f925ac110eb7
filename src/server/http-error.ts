/**
 * The one error type of the server. A handler throws it; the app turns it
 * into a JSON response `{ "error": CODE, "message": TEXT }` with its status.
 * Anything else that escapes a handler is a 500 with no detail.
 */
import type { ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  send(res: ServerResponse): void {
    sendJson(res, this.status, { error: this.code, message: this.message });
  }
}

export const badRequest = (message: string) => new HttpError(400, 'bad_request', message);
export const unauthorized = () =>
  new HttpError(
    401,
    'unauthorized',
    'a valid token (Authorization: Bearer TOKEN) or console sign-in is required',
  );
export const forbidden = (message = 'you may not do this') => new HttpError(403, 'forbidden', message);
/**
 * What a non-admin hears about a package or object that is missing *or*
 * hidden from them: the same status and words, so a 403 reveals nothing.
 */
export const notEntitled = () =>
  new HttpError(403, 'forbidden', 'not entitled to this, or it does not exist');
export const notFound = (message = 'not found') => new HttpError(404, 'not_found', message);

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(body);
}
