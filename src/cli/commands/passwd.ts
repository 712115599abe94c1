import type { Command } from 'commander';
import type { PasswordScheme } from '../../backends/password-hash';
import { normalizeAccount } from '../../core/account';
import { writeAuditEvent } from '../../core/accounts';
import { TwoStepError } from '../../core/errors';
import { MAX_SECRET_LENGTH } from '../../core/login';
import { InputError } from '../errors';
import type { CliHelpers } from '../helpers';
import { parseChoice } from '../parse';
import { promptHidden, readStdinLine, stdinIsTerminal } from '../prompt';

const SCHEMES: readonly PasswordScheme[] = ['BLF-CRYPT', 'ARGON2ID', 'SHA512-CRYPT'];
/** bcrypt uses only the first 72 bytes of a password and ignores the rest silently. */
const BCRYPT_MAX_BYTES = 72;
/** The maximum verification code length (8 digits) must still fit behind the password in one login secret. */
const MAX_PASSWORD_LENGTH = MAX_SECRET_LENGTH - 8;

async function readNewPassword(): Promise<string> {
  if (!stdinIsTerminal()) {
    const line = await readStdinLine();
    if (line === undefined) {
      throw new InputError('missing password: pipe it on standard input as one line, or run the command in a terminal to be prompted');
    }
    return line;
  }
  const first = await promptHidden('New password: ');
  const second = await promptHidden('Repeat the password: ');
  if (first !== second) {
    throw new InputError('the two passwords differ: nothing was changed');
  }
  return first;
}

function checkPassword(password: string, scheme: PasswordScheme): void {
  if (password === '') {
    throw new InputError('invalid password: it is empty');
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new InputError(`invalid password: longer than ${MAX_PASSWORD_LENGTH} characters, which leaves no room for a verification code`);
  }
  if (/[\u0000-\u001f\u007f]/.test(password)) {
    throw new InputError('invalid password: it contains control characters');
  }
  if (scheme === 'BLF-CRYPT' && Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_BYTES) {
    throw new InputError(`invalid password: BLF-CRYPT uses only the first ${BCRYPT_MAX_BYTES} bytes; choose a shorter one or --scheme ARGON2ID`);
  }
}

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('passwd')
    .description('set the account password (the first factor) in the passwd file; reads one line from stdin, or prompts twice in a terminal')
    .argument('<account>', 'the mail login, user@example.org')
    .option('--scheme <scheme>', `password hash scheme: ${SCHEMES.join(', ')}`, 'BLF-CRYPT');

  helpers.action<{ scheme: string }>(command, async (session, [rawAccount], options) => {
    const account = normalizeAccount(rawAccount);
    const scheme = parseChoice(options.scheme, '--scheme', SCHEMES);
    const password = await readNewPassword();
    checkPassword(password, scheme);

    const installation = await session.open();
    const passwdFile = installation.passwdFile;
    if (!passwdFile) {
      throw new TwoStepError('ERR_INVALID_CONFIG', 'this installation does not use a passwd file for the first factor: set passwords in its password backend');
    }
    const fileExisted = await passwdFile.exists();
    const existed = await passwdFile.hasAccount(account);
    try {
      await passwdFile.setPassword(account, password, scheme);
    } catch (error) {
      if (error instanceof TwoStepError) {
        throw error;
      }
      throw new TwoStepError('ERR_BACKEND_UNAVAILABLE', `failed to write the passwd file ${passwdFile.path}: ${(error as Error).message}`, { cause: error });
    }
    await writeAuditEvent(installation.context, session.actor, 'password-set', account, scheme);

    // A new file is named on its own line, so a mistyped [backend] passwd_file is noticed here.
    session.output.result({ account, scheme, created: !existed, passwdFile: passwdFile.path, passwdFileCreated: !fileExisted }, (result) =>
      [
        ...(result.passwdFileCreated ? [`Created the passwd file ${result.passwdFile}, which did not exist.`] : []),
        `${result.created ? 'Added' : 'Changed'} the password of ${result.account} (${result.scheme}) in ${result.passwdFile}.`,
      ],
    );
  });
}
