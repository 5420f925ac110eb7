/**
 * Request bodies, bounded. A body is read only up to its limit: a
 * Content-Length over it is refused before a byte is read, and a chunked
 * body is cut off the moment it passes it (413 either way).
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, badRequest } from './http-error.js';

export const MAX_JSON_BYTES = 1024 * 1024;

const tooLarge = (limit: number) =>
  new HttpError(413, 'too_large', `the body is larger than this server accepts (${limit} bytes)`);

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    total += part.length;
    if (total > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    parts.push(part);
  }
  return Buffer.concat(parts, total);
}

/** A JSON object body (an empty one is `{}` when `allowEmpty`); 400 with the parser's message when it is not one. */
export async function readJson(
  req: IncomingMessage,
  { allowEmpty = false }: { allowEmpty?: boolean } = {},
): Promise<Record<string, unknown>> {
  const bytes = await readBody(req, MAX_JSON_BYTES);
  if (allowEmpty && bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw badRequest(`the body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Field readers for JSON bodies: each names the field it refuses. */
export function stringField(body: Record<string, unknown>, field: string, re?: RegExp): string {
  const v = body[field];
  if (typeof v !== 'string') throw badRequest(`"${field}" must be a string`);
  if (re && !re.test(v)) throw badRequest(`"${field}" is not valid: ${JSON.stringify(v.slice(0, 80))}`);
  return v;
}

export function optionalString(
  body: Record<string, unknown>,
  field: string,
  re?: RegExp,
): string | undefined {
  return body[field] === undefined ? undefined : stringField(body, field, re);
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v !== undefined && typeof v !== 'boolean') throw badRequest(`"${field}" must be true or false`);
  return v;
}
