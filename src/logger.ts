import pino from 'pino';
import type { Logger } from './core/context';

/** Tests whether a value has a string `message`, which is what pino's serializer treats as an error. */
function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/**
 * Builds an error's message with the messages of its causes, as pino's standard serializer
 * (pino-std-serializers 7) does, but skips a cause whose message is already in the text.
 * TwoStep's own errors put the cause's message in theirs because the CLI prints only the
 * message, so pino alone would log "store write failed: database is locked: database is locked".
 */
function messageWithCauses(error: Error): string {
  let message = error.message;
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; isErrorLike(cause) && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    if (cause.message !== '' && !message.includes(cause.message)) {
      message += `: ${cause.message}`;
    }
  }
  return message;
}

/** Serializes the `err` field with pino's standard serializer and a message without repeated causes. */
function serializeError(error: unknown): unknown {
  if (!isErrorLike(error)) {
    return error;
  }
  const serialized = pino.stdSerializers.err(error);
  serialized.message = messageWithCauses(error);
  return serialized;
}

/**
 * Creates the pino logger used by the CLI, the HTTP service and the stack. Level from
 * TWOSTEP_LOG_LEVEL (default info). Secret-bearing fields are redacted as a second line of
 * defence; the code never puts secrets in log fields in the first place.
 */
export function createLogger(name: string, destination: pino.DestinationStream | number = 2): Logger & pino.Logger {
  const level = process.env.TWOSTEP_LOG_LEVEL ?? 'info';
  return pino(
    {
      name,
      level,
      serializers: { err: serializeError },
      redact: { paths: ['password', 'secret', 'code', 'appPassword', 'secretKey', 'recoveryCode', 'session', '*.password', '*.secret'], censor: '[redacted]' },
    },
    typeof destination === 'number' ? pino.destination(destination) : destination,
  );
}
