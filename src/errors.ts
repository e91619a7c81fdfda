/**
 * The error registry (after fastify's lib/errors.js): every error a client can see has a
 * stable `CALMPAY_ERR_*` code and one HTTP status. Codes are documented in docs/api.md and are
 * never reused for a different meaning. The API's error handler is the only place that turns
 * these into HTTP responses: `{code, message, details}`.
 */

export interface ErrorDef {
  readonly status: number;
  readonly message: string;
}

export const ERRORS = {
  CALMPAY_ERR_VALIDATION: { status: 400, message: 'The request is invalid' },
  CALMPAY_ERR_INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  CALMPAY_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit' },
  CALMPAY_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  CALMPAY_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  CALMPAY_ERR_URI_TOO_LONG: { status: 414, message: 'A path parameter of the URL is longer than allowed' },
  CALMPAY_ERR_NOT_FOUND: { status: 404, message: 'No such resource' },
  CALMPAY_ERR_UNAUTHENTICATED: { status: 401, message: 'A valid API key is required' },
  CALMPAY_ERR_FORBIDDEN: { status: 403, message: 'The API key lacks the scope this route needs' },
  CALMPAY_ERR_CSRF: { status: 403, message: "A write made with a console session needs the session's CSRF token" },
  CALMPAY_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests for this API key; retry after the Retry-After header' },
  CALMPAY_ERR_TRANSFER_ID_CONFLICT: {
    status: 409,
    message: 'This transferId was already scored with a different event',
  },
  CALMPAY_ERR_TRANSFER_IN_PROGRESS: {
    status: 409,
    message: 'This transferId is being scored by another request; retry shortly',
  },
  CALMPAY_ERR_STORE_UNAVAILABLE: { status: 503, message: 'The feature store (Redis) is unavailable' },
  CALMPAY_ERR_TRANSFER_NOT_FOUND: {
    status: 404,
    message: 'No transfer with this id was scored (or it is older than IDEMPOTENCY_TTL_SECONDS)',
  },
  CALMPAY_ERR_ILLEGAL_TRANSITION: {
    status: 409,
    message: "The transfer's current state does not allow this action",
  },
  CALMPAY_ERR_CASE_CONFLICT: {
    status: 409,
    message: 'Some of these transfers are already reported in another case',
  },
  CALMPAY_ERR_SQL_UNAVAILABLE: { status: 503, message: 'The SQL store (case library) is unavailable' },
  CALMPAY_ERR_RULES_INVALID: {
    status: 400,
    message: 'The rule files are invalid; details lists every error with file, rule, line and column',
  },
  CALMPAY_ERR_RULE_VERSION_NOT_FOUND: { status: 404, message: 'No rule version with this id' },
  CALMPAY_ERR_RULE_VERSION_CONFLICT: {
    status: 409,
    message: "The rule version's status (or the active version) does not allow this action",
  },
  CALMPAY_ERR_BACKTESTS_BUSY: {
    status: 429,
    message: 'This node has as many backtest jobs queued or running as BACKTEST_MAX_JOBS allows; retry when one has finished',
  },
  CALMPAY_ERR_SAME_AUTHOR: { status: 403, message: 'A rule version must be approved by someone other than its author' },
  CALMPAY_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  CALMPAY_ERR_CASE_TRANSFER_MISMATCH: {
    status: 422,
    message: 'A reported transfer was not paid by this payer to this payee according to the decision history',
  },
  CALMPAY_ERR_CASE_TRANSFER_UNKNOWN: {
    status: 422,
    message: 'A reported transfer is not in the decision history (not scored by this engine, or still being recorded)',
  },
  CALMPAY_ERR_DECISION_NOT_RECORDED: {
    status: 503,
    message: 'The decision could not be recorded; retry the same request: it completes this transfer without counting it twice',
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export interface FieldProblem {
  /** dotted path of the offending field, '' for the body as a whole */
  readonly field: string;
  readonly message: string;
}

export class CalmpayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly unknown[];

  constructor(code: ErrorCode, message?: string, details: readonly unknown[] = []) {
    super(message ?? ERRORS[code].message);
    this.name = 'CalmpayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

export function validationError(problems: readonly FieldProblem[]): CalmpayError {
  const fields = [...new Set(problems.map((p) => p.field || '(body)'))];
  return new CalmpayError('CALMPAY_ERR_VALIDATION', `Invalid fields: ${fields.join(', ')}`, problems);
}
