import pino from 'pino';
import type { Logger } from './core/context';

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
      redact: { paths: ['password', 'secret', 'code', 'appPassword', 'secretKey', 'recoveryCode', 'session', '*.password', '*.secret'], censor: '[redacted]' },
    },
    typeof destination === 'number' ? pino.destination(destination) : destination,
  );
}
