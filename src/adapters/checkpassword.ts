import { spawn } from 'node:child_process';
import { readSync } from 'node:fs';
import { isIP } from 'node:net';
import { silentLogger, type Logger } from '../core/context';
import { decideLogin } from '../core/login';
import type { Protocol } from '../core/model';
import { openInstallation, type Installation } from '../installation';

/** Exit codes of the checkpassword interface, as Dovecot 2.3 reads them. */
export const CHECKPASSWORD_REJECTED = 1;
export const CHECKPASSWORD_MISUSE = 2;
export const CHECKPASSWORD_TEMPORARY_FAILURE = 111;

/** The checkpassword interface limits the input on fd 3 to 512 bytes. */
const MAX_INPUT = 512;
const INPUT_FD = 3;
/** Dovecot reads the reply of checkpassword-reply from this descriptor. */
const REPLY_FD = 4;

const SERVICES: Readonly<Record<string, Exclude<Protocol, 'web'>>> = { imap: 'imap', pop3: 'pop3', smtp: 'smtp', submission: 'smtp' };

export interface CheckpasswordOptions {
  readonly configDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** An open installation to use instead of opening one from configDir (tests). */
  readonly installation?: Installation;
  readonly logger?: Logger;
  /** The file descriptor of the `user\0password\0…` input; fd 3 by default. */
  readonly inputFd?: number;
}

function readInput(fd: number): Buffer {
  const buffer = Buffer.alloc(MAX_INPUT + 1);
  let length = 0;
  while (length < buffer.length) {
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) {
      break;
    }
    length += read;
  }
  return buffer.subarray(0, length);
}

function fail(code: number, message: string): number {
  process.stderr.write(`twostep checkpassword: ${message}\n`);
  return code;
}

/** Runs checkpassword-reply (or whatever `argv` names) with fd 4 passed through, and returns its exit code. */
function runReply(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    // Node 20 has no execve(): the reply program runs as a child with Dovecot's reply pipe on
    // fd 4, and this process exits with its status, which Dovecot sees as if it had been exec'd.
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['inherit', 'inherit', 'inherit', 'ignore', REPLY_FD] });
    child.once('error', (error) => resolve(fail(CHECKPASSWORD_TEMPORARY_FAILURE, `cannot run ${argv[0]}: ${error.message}`)));
    child.once('exit', (code) => resolve(code ?? CHECKPASSWORD_TEMPORARY_FAILURE));
  });
}

/**
 * Runs the checkpassword program for Dovecot 2.3 (the interface was removed in Dovecot 2.4).
 * Reads `user\0password\0…` from fd 3, decides the login with TwoStep, and on acceptance
 * runs `argv` (Dovecot passes the path of checkpassword-reply) with USER set to the account.
 * Dovecot starts one process per login, running as the `dovecot` user, so the data folder
 * must be readable and writable by that user.
 * Returns the exit code: the reply program's on acceptance, 1 rejected, 111 temporary failure
 * (also when fd 3 is not readable), 2 misuse.
 */
export async function runCheckpassword(argv: readonly string[], options: CheckpasswordOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  if (argv.length === 0) {
    return fail(CHECKPASSWORD_MISUSE, 'missing program to run on success: Dovecot passes the path of checkpassword-reply');
  }

  const inputFd = options.inputFd ?? INPUT_FD;
  let input: Buffer;
  try {
    input = readInput(inputFd);
  } catch (error) {
    // npx starts the command with stdin, stdout and stderr only, so fd 3 is then closed or one of
    // Node's own descriptors (EBADF, EINVAL). Exit 111 rather than 2, because Dovecot 2.3 logs
    // status 2 as "tried to use userdb-only checkpassword program for passdb?".
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return fail(
      CHECKPASSWORD_TEMPORARY_FAILURE,
      `cannot read the login: file descriptor ${inputFd} is not readable (${reason}). Dovecot passes the user and password there, as the checkpassword protocol defines. ` +
        'Run the installed twostep command, such as node_modules/.bin/twostep, not "npx twostep", which does not pass file descriptor 3 on.',
    );
  }
  const fields = input.toString('utf8').split('\0');
  if (input.length > MAX_INPUT || fields.length < 3) {
    return fail(CHECKPASSWORD_MISUSE, `invalid input on fd 3: expected user\\0password\\0 in at most ${MAX_INPUT} bytes`);
  }
  const [user, secret] = fields;
  const ip = env.TCPREMOTEIP ?? '';
  if (isIP(ip) === 0) {
    return fail(CHECKPASSWORD_TEMPORARY_FAILURE, 'missing or invalid TCPREMOTEIP: Dovecot sets it for network logins');
  }
  const protocol = SERVICES[(env.SERVICE ?? 'imap').toLowerCase()];
  if (!protocol) {
    return fail(CHECKPASSWORD_TEMPORARY_FAILURE, `unsupported SERVICE ${JSON.stringify(env.SERVICE)}: expected imap, pop3, smtp or submission`);
  }

  let installation = options.installation;
  let opened = false;
  try {
    if (!installation) {
      installation = await openInstallation({ configDir: options.configDir, env, logger: options.logger ?? silentLogger });
      opened = true;
    }
  } catch (error) {
    return fail(CHECKPASSWORD_TEMPORARY_FAILURE, `cannot open the TwoStep installation: ${(error as Error).message}`);
  }

  try {
    const decision = await decideLogin(installation.context, { account: user, secret, protocol, ip });
    if (decision.outcome === 'temporary-failure') {
      return fail(CHECKPASSWORD_TEMPORARY_FAILURE, `login could not be decided (${decision.reason})`);
    }
    if (decision.outcome === 'rejected') {
      await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
      return CHECKPASSWORD_REJECTED;
    }
    return await runReply(argv, { ...env, USER: decision.account, EXTRA: env.EXTRA ?? '' });
  } finally {
    if (opened) {
      await installation.close().catch(() => undefined);
    }
  }
}
