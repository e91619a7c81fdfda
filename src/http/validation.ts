/**
 * The one validator and serializer setup of the HTTP API (issue 18). Every route declares its
 * zod schemas once, in `schema: { params, querystring, body, response }`, and they serve three
 * purposes:
 * - validation: fastify runs `requestValidator` on each declared part before the handler, which
 *   then sees the parsed values (coerced numbers, defaults, trimmed strings);
 * - types: routes are registered through `app.withTypeProvider<ZodRequestTypes>()`, so the
 *   handler's `request.body`, `request.params` and `request.query` are the schemas' outputs, and
 *   its answer for each status code must fit that code's response schema;
 * - OpenAPI: `jsonSchemaTransform` (server.ts) turns the same schemas into the document at /docs.
 *
 * Bad input is a 400 `CALMPAY_ERR_VALIDATION` from the error registry, naming every offending
 * field of every part (a bad path id and a bad body are reported together), with the messages
 * the routes have always given: zod's, and "is required" for a missing field.
 */
import type { FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifySerializerCompiler, FastifyTypeProvider } from 'fastify';
import { z, type ZodError } from 'zod';
import { validationError, type CalmpayError, type FieldProblem } from '../errors.ts';

/**
 * The type provider of every route: a request part is its schema's output; an answer (what a
 * handler returns or `reply.send`s, per status code) must fit its response schema's input, read
 * as `Answer` (readonly, so the domain's readonly values fit). Checked by tsc, not at run time
 * (test/unit/reply-types.test.ts); test/integration/reply-schemas.test.ts parses real answers of
 * every /v1 route with their schemas.
 */
export interface ZodRequestTypes extends FastifyTypeProvider {
  readonly validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  readonly serializer: this['schema'] extends z.ZodType ? Answer<z.input<this['schema']>> : unknown;
}

/**
 * A response schema's input, read-only all the way down, so that the domain's readonly values
 * are accepted; the index signature of a loose object (`z.looseObject`: any further keys) is
 * left out, so an interface without one is accepted too.
 */
type Answer<T> = T extends readonly (infer E)[]
  ? readonly Answer<E>[]
  : T extends object
    ? { readonly [K in keyof T as string extends K ? (unknown extends T[K] ? never : K) : K]: Answer<T[K]> }
    : T;

/** Parse-level messages: a missing required field (or a missing enum value) reads "is required". */
export const PARSE_MESSAGES = {
  error: (issue: { code: string; input?: unknown }): string | undefined =>
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined ? 'is required' : undefined,
};

/** Zod issues as field problems; an unknown key is reported at its own path. */
export function zodProblems(err: ZodError, prefix?: string): FieldProblem[] {
  const out: FieldProblem[] = [];
  const under = (field: string): string => (prefix === undefined ? field : field === '' ? prefix : `${prefix}.${field}`);
  for (const issue of err.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ field: under(base ? `${base}.${k}` : k), message: 'is not a known field' });
    } else {
      out.push({ field: under(base), message: issue.message });
    }
  }
  return out;
}

/** The request parts fastify validates, in the order it validates them. */
const PARTS = ['params', 'body', 'querystring', 'headers'] as const;
type Part = (typeof PARTS)[number];
/** where fastify keeps each part on the request */
const REQUEST_KEY = { params: 'params', body: 'body', querystring: 'query', headers: 'headers' } as const;

const PREFIXES = new WeakMap<z.ZodType, string>();
const FAST_PATHS = new WeakMap<z.ZodType, (input: unknown) => unknown>();

/**
 * The schema, whose problems are reported under `prefix` (`params.id`, `query.limit`). The
 * transfer, account and dead-letter routes have always named path and query fields so; the
 * rule, case and backtest routes name the bare field (`id`, `limit`): both are documented
 * answers that clients and tests match, so each route keeps its own.
 */
export function reportedUnder<S extends z.ZodType>(prefix: 'params' | 'query', schema: S): S {
  PREFIXES.set(schema, prefix);
  return schema;
}

/**
 * The schema, with a fast path in front of it: `accept` returns the value the schema would
 * return, or undefined when it is not sure, and the schema decides. The schema stays the truth:
 * `accept` may only accept what the schema accepts, with the same output (the score route's
 * acceptTransferEvent; test/unit/transfer-event-parse.test.ts holds the two together).
 */
export function withFastPath<S extends z.ZodType>(schema: S, accept: (input: unknown) => z.output<S> | undefined): S {
  FAST_PATHS.set(schema, accept);
  return schema;
}

type PartResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: FieldProblem[] };

/** One part of a request checked against its schema. */
export function checkPart(schema: z.ZodType, part: Part, data: unknown): PartResult {
  // fastify hands an absent body over as null: a missing body is a missing value, so an
  // optional body may be left out and a required one "is required"
  const input = part === 'body' && data === null ? undefined : data;
  const fast = FAST_PATHS.get(schema)?.(input);
  if (fast !== undefined) return { ok: true, value: fast };
  const parsed = schema.safeParse(input, PARSE_MESSAGES);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: zodProblems(parsed.error, PREFIXES.get(schema)) };
}

/** A part that failed: fastify stops at it; the error handler adds the later parts' problems. */
export class RequestValidationError extends Error {
  readonly part: Part;
  readonly problems: readonly FieldProblem[];

  constructor(part: Part, problems: readonly FieldProblem[]) {
    super(`Invalid ${part}`);
    this.name = 'RequestValidationError';
    this.part = part;
    this.problems = problems;
  }
}

function isPart(httpPart: string | undefined): httpPart is Part {
  return (PARTS as readonly (string | undefined)[]).includes(httpPart);
}

/** fastify's validator compiler for every route: the declared zod schema of each part. */
export const requestValidator: FastifySchemaCompiler<unknown> = ({ schema, httpPart, method, url }) => {
  if (!(schema instanceof z.ZodType) || !isPart(httpPart)) {
    throw new Error(`${method} ${url}: the ${String(httpPart)} schema must be a zod schema (src/http/validation.ts)`);
  }
  return (data: unknown) => {
    const checked = checkPart(schema, httpPart, data);
    return checked.ok ? { value: checked.value } : { error: new RequestValidationError(httpPart, checked.problems) };
  };
};

/**
 * The 400 for a request that failed validation: the failed part's problems and those of every
 * part fastify did not reach, so a request with a bad path id and a bad body names both.
 */
export function requestValidationError(request: FastifyRequest, err: RequestValidationError): CalmpayError {
  const problems = [...err.problems];
  const declared = request.routeOptions.schema as Partial<Record<Part, unknown>> | undefined;
  for (const part of PARTS.slice(PARTS.indexOf(err.part) + 1)) {
    const schema = declared?.[part];
    if (!(schema instanceof z.ZodType)) continue;
    const raw: unknown = request[REQUEST_KEY[part]];
    const checked = checkPart(schema, part, raw === undefined ? null : raw);
    if (!checked.ok) problems.push(...checked.problems);
  }
  return validationError(problems);
}

/**
 * Answers are serialised as they are: the response schemas document them at /docs and type the
 * handlers' answers (the type provider), and are not run again on every answer.
 */
export const replySerializer: FastifySerializerCompiler<unknown> = () => (data: unknown) => JSON.stringify(data);

/**
 * Sends a body the handler has already serialised to JSON (the score route times its own
 * serialisation): fastify sends a string under a JSON content type as it is.
 */
export function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
