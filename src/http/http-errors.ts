import type { FastifyError, FastifyInstance } from 'fastify';
import { CalmpayError, ERRORS, type ErrorCode } from '../errors.ts';
import { storeFailure } from '../store/store-failures.ts';
import { RequestValidationError, requestValidationError } from './validation.ts';

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: readonly unknown[];
}

function body(code: ErrorCode, message: string, details: readonly unknown[] = []): ErrorBody {
  return { code, message, details };
}

/** fastify's own errors (body parsing, routing) mapped onto the registry. */
function fromFastify(err: FastifyError): { status: number; body: ErrorBody } | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: body('CALMPAY_ERR_BODY_TOO_LARGE', err.message) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 415, body: body('CALMPAY_ERR_UNSUPPORTED_MEDIA_TYPE', ERRORS.CALMPAY_ERR_UNSUPPORTED_MEDIA_TYPE.message) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('CALMPAY_ERR_INVALID_JSON', 'The request body is empty', [{ field: '', message: 'a JSON object is required' }]) };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: body('CALMPAY_ERR_INVALID_JSON', ERRORS.CALMPAY_ERR_INVALID_JSON.message, [{ field: '', message: err.message }]) };
    default:
      break;
  }
  // JSON syntax errors and prototype-poisoning rejections from the JSON parser
  if (err.statusCode === 400 && (err instanceof SyntaxError || /prototype|JSON/i.test(err.message))) {
    return { status: 400, body: body('CALMPAY_ERR_INVALID_JSON', ERRORS.CALMPAY_ERR_INVALID_JSON.message, [{ field: '', message: err.message }]) };
  }
  return null;
}

/** The one place where errors become HTTP responses: `{code, message, details}`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | CalmpayError | Error, request, reply) => {
    if (err instanceof CalmpayError) {
      return reply.status(err.status).send(body(err.code, err.message, err.details));
    }
    if (err instanceof RequestValidationError) {
      const e = requestValidationError(request, err);
      return reply.status(e.status).send(body(e.code, e.message, e.details));
    }
    const fe = err as FastifyError;
    const mapped = fromFastify(fe);
    if (mapped) return reply.status(mapped.status).send(mapped.body);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send(body('CALMPAY_ERR_VALIDATION', fe.message));
    }
    // a Redis or SQL failure or deadline that no route turned into its own answer is still a 503
    const failure = storeFailure(err);
    if (failure !== null) {
      request.log.warn({ err }, 'store unavailable');
      return reply.status(503).send(body(failure, `${ERRORS[failure].message}: ${err.message}`));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body('CALMPAY_ERR_INTERNAL', ERRORS.CALMPAY_ERR_INTERNAL.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(body('CALMPAY_ERR_ROUTE_NOT_FOUND', `No route ${request.method} ${request.url}`));
  });
}
