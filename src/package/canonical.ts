/**
 * Canonical JSON: the one byte form of every metadata object (manifest, layer
 * index, profile), so that a value has exactly one digest.
 *
 *   - objects: keys sorted by UTF-16 code units (as RFC 8785 does), no
 *     duplicates; properties whose value is `undefined` are left out;
 *   - no whitespace anywhere;
 *   - strings: JSON.stringify's escaping (`"` `\\` and control characters
 *     only; `\b \f \n \r \t` short forms, other controls as `\u00XX` lowercase);
 *     lone surrogates are refused, so the result is always valid UTF-8;
 *   - numbers: safe integers only (|n| <= 2^53 - 1), written in decimal;
 *     -0, fractions, NaN and infinities are refused;
 *   - booleans and null as usual; nothing else (no undefined in arrays,
 *     no bigint, no functions, no Dates, no class instances).
 * The bytes are the UTF-8 encoding of that text.
 */
import { PackageError } from './errors.js';
import { hasLoneSurrogate } from './paths.js';

/**
 * Where in the value `write` is, for error messages: keys and array indexes,
 * root first. Kept as a stack and turned into text only when an error is
 * thrown (a layer index has thousands of elements, and a path string per
 * element was most of what checking one allocated).
 */
type Path = (string | number)[];

function pathText(path: Path): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function write(value: unknown, path: Path, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
        throw new TypeError(`${pathText(path)}: canonical JSON takes safe integers only, not ${value}`);
      }
      out.push(String(value));
      return;
    case 'string':
      if (hasLoneSurrogate(value)) {
        throw new TypeError(`${pathText(path)}: string has a lone surrogate (not valid UTF-8)`);
      }
      out.push(JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`${pathText(path)}: ${typeof value} has no canonical JSON form`);
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      path.push(i);
      write(value[i], path, out);
      path.pop();
    }
    out.push(']');
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${pathText(path)}: only plain objects have a canonical JSON form`);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    if (record[k] === undefined) continue;
    path.push(k);
    if (hasLoneSurrogate(k)) throw new TypeError(`${pathText(path)}: key has a lone surrogate`);
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    write(record[k], path, out);
    path.pop();
  }
  out.push('}');
}

/** The canonical text of `value`. Throws TypeError for values it cannot represent. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, [], out);
  return out.join('');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/**
 * Parses bytes that must be canonical JSON: valid UTF-8, valid JSON, and
 * byte-identical to the canonical form of what they parse to. Anything else
 * (spaces, other key order, `1.0`, a BOM) is refused, so every object has one
 * byte form and one digest.
 */
export function parseCanonical(bytes: Uint8Array): unknown {
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch (e) {
    throw new PackageError('NOT_CANONICAL', `not JSON: ${(e as Error).message}`);
  }
  let again: string;
  try {
    again = canonicalJson(value);
  } catch (e) {
    throw new PackageError('NOT_CANONICAL', `not canonical JSON: ${(e as Error).message}`);
  }
  // Duplicate keys collapse in JSON.parse and change the length, so they are caught here too.
  if (again !== text)
    throw new PackageError('NOT_CANONICAL', 'not in canonical form (key order, spacing or escaping)');
  return value;
}
