/**
 * Field schemas shared by the manifest, layer index and profile validators,
 * and the one way their failures are reported: `path: problem`, with the path
 * written as in JavaScript (`layers[2].digest`, `env["A B"]`).
 *
 * The schemas are valibot's (it imports in a tenth of zod's time, which every
 * command that opens a package pays). Two of its defaults are tightened here:
 * `strict` refuses arrays where an object is expected and names every unknown
 * field, and `record` takes plain objects only and keeps keys such as
 * "constructor", which valibot's own record would drop.
 */
import * as v from 'valibot';
import { guestPathProblem, layerPathProblem } from './paths.js';
import { DIGEST_RE } from './types.js';

const IDENT = /^[A-Za-z_$][\w$]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENT.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

type Issue = v.BaseIssue<unknown>;

/** The message of an issue valibot made without one of ours: `expected <type>`. */
function defaultMessage(issue: Issue): string {
  if (issue.kind !== 'schema') return `invalid ${issue.type.replace(/_/g, ' ')}`;
  if (issue.type === 'record') return 'expected record';
  if (issue.expected === 'Object') return 'expected object';
  if (issue.expected === 'Array') return 'expected array';
  return `expected ${issue.expected ?? issue.type}`;
}

const CONFIG = { message: defaultMessage } as const;

/**
 * The path of an issue. A strict object's unknown-field issue carries the
 * field in its path; the path here stops at the object, which the message
 * (see `strict`) says has unknown fields.
 */
function pathOf(issue: Issue): v.IssuePathItem[] {
  const path = [...(issue.path ?? [])];
  if (issue.type === 'strict_object' && issue.expected === 'never') path.pop();
  return path;
}

/** At most `max` issues, one per line part: `a.b[1]: problem; c: problem`. */
export function formatIssues(issues: readonly Issue[], max = 5): string {
  const parts = issues.slice(0, max).map((i) => {
    return `${formatPath(pathOf(i).map((item) => item.key as PropertyKey))}: ${i.message}`;
  });
  if (issues.length > max) parts.push(`and ${issues.length - max} more`);
  return parts.join('; ');
}

/** Validates `value`: the output, or the issues formatted by formatIssues. */
export function check<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } {
  const r = v.safeParse(schema, value, CONFIG);
  return r.success ? { ok: true, value: r.output } : { ok: false, message: formatIssues(r.issues) };
}

/** The problem `schema` reports for `value`, formatted, or null. */
function problemOf(schema: v.GenericSchema, value: unknown): string | null {
  const r = v.safeParse(schema, value, CONFIG);
  return r.success ? null : r.issues[0].message;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (!isObject(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * An object with exactly these fields (optional ones may be absent). A
 * missing field is reported as its schema reports `undefined`; unknown
 * fields are reported together, on the object.
 */
export function strict<E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isObject, 'expected object'),
    v.strictObject(entries, (issue) => {
      const at = issue.path?.[0];
      if (issue.expected === 'never' && at && isObject(at.input)) {
        const unknown = Object.keys(at.input).filter(
          (k) => !Object.prototype.hasOwnProperty.call(entries, k),
        );
        return `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}`;
      }
      const field = at?.key;
      if (typeof field === 'string' && Object.prototype.hasOwnProperty.call(entries, field))
        return problemOf(entries[field]!, undefined) ?? 'missing';
      return 'expected object';
    }),
  );
}

/**
 * A plain object whose keys and values pass `key` and `value`. A bad key is
 * reported at its own path as `bad key: problem`. The output is a copy.
 */
export function record<K extends v.GenericSchema<string, string>, V extends v.GenericSchema>(
  key: K,
  value: V,
) {
  type Out = Record<v.InferOutput<K>, v.InferOutput<V>>;
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, 'expected record'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const input = dataset.value;
      for (const k of Object.keys(input)) {
        const item = { type: 'object', origin: 'value', input, key: k, value: input[k] } as const;
        const keyProblem = problemOf(key, k);
        if (keyProblem !== null) {
          addIssue({ message: `bad key: ${keyProblem}`, path: [item] });
          continue;
        }
        const r = v.safeParse(value, input[k], CONFIG);
        if (!r.success)
          for (const issue of r.issues) addIssue({ message: issue.message, path: [item, ...pathOf(issue)] });
      }
    }),
    v.transform((input): Out => {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(input)) out[k] = input[k];
      return out as Out;
    }),
  );
}

const NO_NUL = (s: string) => !s.includes('\0');

export const digest = v.pipe(v.string(), v.regex(DIGEST_RE, 'expected sha256:<64 hex>'));

/** A string without NUL, at most `max` UTF-16 units (a guard against absurd inputs). */
export const text = (max: number) =>
  v.pipe(v.string(), v.maxLength(max, `longer than ${max} characters`), v.check(NO_NUL, 'contains NUL'));

/** An integer. Anything else stops here, as `expected number` or `expected an integer`. */
export const integer = v.custom<number>(Number.isInteger, (issue) =>
  typeof issue.input === 'number' && Number.isFinite(issue.input) ? 'expected an integer' : 'expected number',
);

export const count = v.pipe(
  integer,
  v.minValue(0, 'expected >= 0'),
  v.maxValue(Number.MAX_SAFE_INTEGER, 'too large'),
);

function pathSchema(problem: (p: string) => string | null) {
  return v.pipe(
    v.string(),
    v.check(
      (p) => problem(p) === null,
      (issue) => {
        const p = issue.input as string;
        return `unsafe path ${JSON.stringify(p.slice(0, 80))}: ${problem(p)}`;
      },
    ),
  );
}

/** An absolute, safe guest path; "/" allowed. */
export const guestPath = pathSchema(guestPathProblem);
/** An absolute, safe guest path naming something below "/". */
export const guestFilePath = pathSchema((p) => (p === '/' ? 'the root is not a file' : guestPathProblem(p)));
/** A relative layer path. */
export const layerPath = pathSchema(layerPathProblem);

/** An array of at most `max` items, `tooMany` otherwise. */
export const list = <S extends v.GenericSchema>(item: S, max: number, tooMany: string) =>
  v.pipe(v.array(item), v.maxLength(max, tooMany));
