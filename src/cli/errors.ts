import { CommanderError } from 'commander';
import { stripControlCharacters } from '../core/account';
import { isTwoStepError, type ErrorCode } from '../core/errors';

/** Exit statuses of `twostep`; 75 and 78 are EX_TEMPFAIL and EX_CONFIG from sysexits.h. */
export const EXIT = {
  ok: 0,
  invalidInput: 1,
  usage: 2,
  software: 70,
  temporaryFailure: 75,
  config: 78,
} as const;

/** A problem with the command line that commander cannot see, such as two options that exclude each other. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A wrong value given by the operator (exit 1) that the core does not check itself. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

const CONFIG_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_INVALID_CONFIG', 'ERR_ENCRYPTION_KEY']);

export interface ErrorReport {
  readonly exitCode: number;
  /** One line for stderr without the `twostep:` prefix, or undefined when commander already printed it. */
  readonly message?: string;
}

/** Maps an error from a command to its exit status and the one line printed on stderr. */
export function describeError(error: unknown): ErrorReport {
  if (error instanceof CommanderError) {
    // Commander printed its message (or the help) through outputError before throwing.
    const helpOrVersion = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
    return { exitCode: helpOrVersion ? EXIT.ok : EXIT.usage };
  }
  if (error instanceof UsageError) {
    return { exitCode: EXIT.usage, message: error.message };
  }
  if (error instanceof InputError) {
    return { exitCode: EXIT.invalidInput, message: error.message };
  }
  if (isTwoStepError(error)) {
    if (error.temporary) {
      return { exitCode: EXIT.temporaryFailure, message: `${error.message}; try again later` };
    }
    return { exitCode: CONFIG_CODES.has(error.code) ? EXIT.config : EXIT.invalidInput, message: error.message };
  }
  const reason = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.software, message: `unexpected error: ${reason} (set TWOSTEP_DEBUG=1 for the stack trace)` };
}

/** Formats a message as the single stderr line, with control characters removed so a value cannot break the terminal. */
export function errorLine(message: string): string {
  return `twostep: ${stripControlCharacters(message.replace(/\s*\n\s*/g, ' ')).trim()}\n`;
}

/**
 * Rewrites commander's `error: …` output as one `twostep: …` line; a suggestion such as
 * "(Did you mean status?)" is joined onto the same line.
 */
export function formatCommanderError(text: string): string {
  return errorLine(text.replace(/^error:\s*/, ''));
}
