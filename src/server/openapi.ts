/** The OpenAPI 3.1 document, generated from the route table so it cannot drift from it. */
import type { Route } from './router.js';

const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

export function openApiDocument(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{([a-z]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const ok = r.responds ?? { status: 200, kind: 'json', description: 'OK' };
    const responses: Record<string, unknown> = {
      [String(ok.status)]: {
        description: ok.description,
        ...(ok.kind === 'none'
          ? {}
          : {
              content:
                ok.kind === 'json'
                  ? { 'application/json': { schema: { type: 'object' } } }
                  : { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            }),
      },
      '400': errorResponse('a malformed request: bad JSON, a bad field, a hostile name or digest'),
    };
    if (r.access !== 'public') {
      responses['401'] = errorResponse('no token, or an unknown one');
      responses['403'] = errorResponse('not allowed, not entitled, or does not exist (indistinguishable)');
    }
    if (r.body === 'bytes') {
      responses['413'] = errorResponse('over the size limit');
      responses['422'] = errorResponse('the bytes do not match the digest');
    }
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = {
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'admin' || r.access === 'publisher' ? { 'x-capsule-role': r.access } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content:
                r.body === 'json'
                  ? { 'application/json': { schema: { type: 'object' } } }
                  : { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Capsule server',
      version,
      description: 'Catalog, entitlements and delivery of Capsule packages. See docs/server.md.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
