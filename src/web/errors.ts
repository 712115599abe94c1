import { isTwoStepError, type ErrorCode } from '../core/errors';

/** Error codes of the panel and the JSON API on top of the core's codes. */
export type WebErrorCode =
  | ErrorCode
  | 'ERR_SIGN_IN_FAILED'
  | 'ERR_SIGN_IN_REQUIRED'
  | 'ERR_SETUP_REQUIRED'
  | 'ERR_VERIFY_REQUIRED'
  | 'ERR_VERIFY_FAILED'
  | 'ERR_NOT_ALLOWED'
  | 'ERR_FORBIDDEN'
  | 'ERR_CSRF'
  | 'ERR_RATE_LIMITED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_INTERNAL';

/** An error with an HTTP status and a stable code; its message is safe to show to the user. */
export class WebError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: WebErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebError';
  }
}

/** The one message for every failed sign-in or re-verification, so it never reveals which factor was wrong. */
export const WRONG_CREDENTIALS = 'Wrong password or verification code.';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_BACKEND_UNAVAILABLE: 503,
  ERR_ENCRYPTION_KEY: 500,
  ERR_INVALID_CONFIG: 500,
};

/** Turns a core error into a WebError; other errors are returned unchanged. */
export function toWebError(error: unknown): unknown {
  if (error instanceof WebError || !isTwoStepError(error)) {
    return error;
  }
  if (error.temporary) {
    return new WebError(503, error.code, 'The service is temporarily unavailable. Try again in a minute.');
  }
  const status = STATUS_BY_CODE[error.code] ?? 400;
  const message = status >= 500 ? 'The server could not complete the request.' : sentence(error.message);
  return new WebError(status, error.code, message);
}

/**
 * Starts a core message with a capital letter and ends it with a full stop, for display. Only a
 * plain lower-case word is capitalised, so a message that starts with an account, a domain or
 * another value such as `carol@example.test` keeps it exactly as written.
 */
export function sentence(message: string): string {
  const text = /^[a-z]+(?=[\s,:;]|$)/.test(message) ? message.charAt(0).toUpperCase() + message.slice(1) : message;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
