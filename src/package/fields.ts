/**
 * Field schemas shared by the manifest, layer index and profile validators,
 * and the one way their failures are reported: `path: problem`, with the path
 * written as in JavaScript (`layers[2].digest`, `env["A B"]`).
 */
import { z } from 'zod';
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

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_key' && issue.issues[0]) return `bad key: ${issue.issues[0].message}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return issue.message;
}

/** At most `max` issues, one per line part: `a.b[1]: problem; c: problem`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], max = 5): string {
  const parts = issues.slice(0, max).map((i) => `${formatPath(i.path)}: ${issueMessage(i)}`);
  if (issues.length > max) parts.push(`and ${issues.length - max} more`);
  return parts.join('; ');
}

const NO_NUL = (s: string) => !s.includes('\0');

export const digest = z.string().regex(DIGEST_RE, 'expected sha256:<64 hex>');

/** A string without NUL, at most `max` UTF-16 units (a guard against absurd inputs). */
export const text = (max: number) =>
  z.string().max(max, `longer than ${max} characters`).refine(NO_NUL, 'contains NUL');

export const count = z
  .number()
  .int('expected an integer')
  .min(0, 'expected >= 0')
  .max(Number.MAX_SAFE_INTEGER, 'too large');

function pathSchema(problem: (p: string) => string | null) {
  return z.string().superRefine((p, ctx) => {
    const why = problem(p);
    if (why)
      ctx.addIssue({ code: 'custom', message: `unsafe path ${JSON.stringify(p.slice(0, 80))}: ${why}` });
  });
}

/** An absolute, safe guest path; "/" allowed. */
export const guestPath = pathSchema(guestPathProblem);
/** An absolute, safe guest path naming something below "/". */
export const guestFilePath = pathSchema((p) => (p === '/' ? 'the root is not a file' : guestPathProblem(p)));
/** A relative layer path. */
export const layerPath = pathSchema(layerPathProblem);
