/**
 * The closed list of error codes that TwoStep raises. Callers switch on `code`, never on
 * the message text.
 */
export const ERROR_CODES = [
  'ERR_INVALID_ACCOUNT',
  'ERR_INVALID_SECRET_KEY',
  'ERR_INVALID_CODE',
  'ERR_INVALID_POLICY',
  'ERR_INVALID_SCOPE',
  'ERR_INVALID_NAME',
  'ERR_INVALID_INPUT',
  'ERR_INVALID_CONFIG',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_STORE_UNAVAILABLE',
  'ERR_BACKEND_UNAVAILABLE',
  'ERR_ENCRYPTION_KEY',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes that mean "try again later" rather than "your input was wrong". */
const TEMPORARY_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_STORE_UNAVAILABLE', 'ERR_BACKEND_UNAVAILABLE']);

export class TwoStepError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TwoStepError';
    this.code = code;
  }

  get temporary(): boolean {
    return TEMPORARY_CODES.has(this.code);
  }
}

export function isTwoStepError(error: unknown, code?: ErrorCode): error is TwoStepError {
  return error instanceof TwoStepError && (code === undefined || error.code === code);
}

/** Wraps any store fault so that it can never be mistaken for "not found". */
export function storeUnavailable(operation: string, cause: unknown): TwoStepError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TwoStepError('ERR_STORE_UNAVAILABLE', `store ${operation} failed: ${reason}`, { cause });
}
