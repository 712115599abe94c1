import type { ActivityWriter } from './activity';
import type { PasswordBackend } from '../backends/types';
import type { AuditEvent, Store } from '../store/types';
import type { TwoStepOptions } from './options';
import type { SecretBox } from './secrets';
import type { FaultLog } from './fault-log';

/** Structured log fields. Never put a password, code, secret key, app password or recovery code here. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** The logger TwoStep writes to: pino's call shape, so pino and Haraka's logger both fit. */
export interface Logger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** An audit event about one account, handed to `TwoStepContext.notify`. */
export type AccountEvent = AuditEvent & { readonly account: string };

/** Everything the core needs from outside, passed in so tests can give a frozen clock or a failing store. */
export interface TwoStepContext {
  readonly store: Store;
  readonly backend: PasswordBackend;
  readonly secrets: SecretBox;
  readonly options: TwoStepOptions;
  /** Milliseconds since the Unix epoch. */
  readonly now: () => number;
  readonly logger: Logger;
  /** Rate-limits fault log lines; defaults to one per process. */
  readonly faultLog?: FaultLog;
  /** Receives every audit event about an account, for example to email its owner. Optional: without it no email is sent. */
  readonly notify?: (event: AccountEvent) => Promise<void>;
  /** Batches login activity in long-running front ends; without it, activity is written before the reply. */
  readonly activity?: ActivityWriter;
}

/**
 * Hands an account event to `context.notify` without waiting for it, so a slow or failing
 * mail server never delays or breaks the action. A failure is logged.
 */
export function notifyAccount(context: TwoStepContext, event: AccountEvent): void {
  if (!context.notify) {
    return;
  }
  const fields = { event: 'notification', action: event.action, account: event.account };
  try {
    context.notify(event).catch((error: unknown) => context.logger.error({ ...fields, cause: (error as Error).message }, 'notification failed'));
  } catch (error) {
    context.logger.error({ ...fields, cause: (error as Error).message }, 'notification failed');
  }
}
