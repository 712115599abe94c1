import type { LogFields, Logger } from '../core/context';

/** Fields that locate a fault. The other fields are for machine-read logs. */
const CONTEXT_FIELDS = ['account', 'smtp_host', 'smtp_port', 'domain'] as const;

function formatLine(level: string, fields: LogFields, message: string): string {
  const context = CONTEXT_FIELDS.filter((key) => fields[key] !== undefined).map((key) => `${key}=${String(fields[key])}`);
  const cause = fields.cause === undefined ? '' : `: ${String(fields.cause)}`;
  const where = context.length > 0 ? ` (${context.join(', ')})` : '';
  return `twostep: ${level}: ${message}${cause}${where}\n`;
}

/**
 * Returns the logger of CLI commands: warnings and errors go to stderr as one line each, for
 * example a notification email that could not be sent. Info lines are left out, because a
 * command prints its own result. Both print as warnings, because nothing logged undoes the
 * command's result; a command that failed prints its error as `twostep: MESSAGE`.
 */
export function cliLogger(write: (line: string) => void): Logger {
  const warn = (fields: LogFields, message: string) => write(formatLine('warning', fields, message));
  return { info() {}, warn, error: warn };
}
