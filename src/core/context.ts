import type { PasswordBackend } from '../backends/types';
import type { Store } from '../store/types';
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
}
