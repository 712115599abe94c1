import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TwoStepError } from '../core/errors';
import { processUser } from '../process-user';
import { hashPassword, parseStoredPassword, verifyPasswordHash, type PasswordScheme, type StoredPassword } from './password-hash';
import type { PasswordBackend } from './types';

/**
 * Edits of the passwd file by other programs are seen within this time.
 * NOTE: so an old password keeps working for up to this long after it was replaced.
 */
const STAT_INTERVAL_MS = 1000;

interface ParsedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly entries: ReadonlyMap<string, StoredPassword>;
  /** True when the file does not exist: listings read it as empty, logins fail temporarily. */
  readonly missing?: boolean;
}

/**
 * First factor from a passwd file in Dovecot's format: one `account:{SCHEME}hash` line per
 * account, optionally followed by more `:`-separated fields, which are kept but ignored.
 * The file is parsed again whenever its modification time or size changes.
 */
/** Names the file and the user that could not read it, since permissions are the usual cause. */
function unreadable(path: string, error: unknown): string {
  return `cannot read passwd file ${path} as user ${processUser()}: ${(error as Error).message}`;
}

export class PasswdFileBackend implements PasswordBackend {
  private cache: ParsedFile | undefined;
  /** The parse in progress, shared by concurrent logins so a large file is read once, not once per login. */
  private parsing: Promise<ParsedFile> | undefined;
  /** When the file's modification time was last checked (ms since the epoch). */
  private checkedAt = 0;
  private readonly dummyHashes = new Map<PasswordScheme, Promise<StoredPassword>>();

  constructor(readonly path: string) {}

  private async load(): Promise<ParsedFile> {
    // A stat per login costs a thread-pool round trip; once a second is enough to see edits.
    const now = Date.now();
    if (this.cache && now - this.checkedAt < STAT_INTERVAL_MS) {
      return this.cache;
    }
    this.checkedAt = now;
    let stat;
    try {
      stat = await fs.stat(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { mtimeMs: 0, size: 0, entries: new Map(), missing: true };
      }
      throw new TwoStepError('ERR_BACKEND_UNAVAILABLE', unreadable(this.path, error), { cause: error });
    }
    if (this.cache && this.cache.mtimeMs === stat.mtimeMs && this.cache.size === stat.size) {
      return this.cache;
    }
    this.parsing ??= this.parse(stat.mtimeMs, stat.size).finally(() => {
      this.parsing = undefined;
    });
    return this.parsing;
  }

  private async parse(mtimeMs: number, size: number): Promise<ParsedFile> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (error) {
      throw new TwoStepError('ERR_BACKEND_UNAVAILABLE', unreadable(this.path, error), { cause: error });
    }
    const entries = new Map<string, StoredPassword>();
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) {
        continue;
      }
      const separator = trimmed.indexOf(':');
      if (separator <= 0) {
        continue;
      }
      const account = trimmed.slice(0, separator).toLowerCase();
      const rest = trimmed.slice(separator + 1);
      const passwordField = rest.split(':')[0];
      try {
        entries.set(account, parseStoredPassword(passwordField));
      } catch {
        // A line with an unsupported scheme cannot sign in; the other accounts still work.
      }
    }
    this.cache = { mtimeMs, size, entries };
    return this.cache;
  }

  /** Returns a hash of a random password in `scheme`, checked for unknown accounts so they cost as much as known ones. */
  private dummyHash(scheme: PasswordScheme): Promise<StoredPassword> {
    let dummy = this.dummyHashes.get(scheme);
    if (!dummy) {
      const writable = scheme === 'CRYPT' || scheme === 'ARGON2I' ? 'BLF-CRYPT' : scheme;
      dummy = hashPassword(randomBytes(12).toString('base64url'), writable).then(parseStoredPassword);
      this.dummyHashes.set(scheme, dummy);
    }
    return dummy;
  }

  async verify(account: string, password: string): Promise<boolean> {
    const file = await this.load();
    if (file.missing) {
      // A mistyped path must not turn every login into a wrong password without a word in the log.
      throw new TwoStepError(
        'ERR_BACKEND_UNAVAILABLE',
        `passwd file ${this.path} does not exist: fix [backend] passwd_file in twostep.ini, or create it with "twostep passwd ACCOUNT"`,
      );
    }
    if (await this.check(file, account, password)) {
      return true;
    }
    // The file may have changed within the last second: a rejection is checked once more
    // against the current file, so a new account or password works at once.
    this.checkedAt = 0;
    const current = await this.load();
    return current !== file && (await this.check(current, account, password));
  }

  private async check(file: ParsedFile, account: string, password: string): Promise<boolean> {
    const stored = file.entries.get(account);
    if (!stored) {
      const typical = file.entries.values().next().value as StoredPassword | undefined;
      await verifyPasswordHash(await this.dummyHash(typical?.scheme ?? 'BLF-CRYPT'), password);
      return false;
    }
    try {
      return await verifyPasswordHash(stored, password);
    } catch {
      // A malformed hash in the file rejects this account only.
      return false;
    }
  }

  /** Returns whether the passwd file exists. */
  async exists(): Promise<boolean> {
    this.checkedAt = 0;
    return !(await this.load()).missing;
  }

  async hasAccount(account: string): Promise<boolean> {
    return (await this.load()).entries.has(account);
  }

  /** Lists the accounts in the file that have a readable password field, sorted (for admin tools). */
  async listAccounts(): Promise<string[]> {
    return [...(await this.load()).entries.keys()].sort();
  }

  /**
   * Sets an account's password, replacing its line or adding one. The file is written to a
   * temporary file and renamed, so readers never see half a file. The new file keeps the mode,
   * owner and group of the old one, and a new file gets mode 0600 and the folder's owner. So
   * root running the CLI does not leave a file that the mail server's user cannot read.
   */
  async setPassword(account: string, password: string, scheme?: PasswordScheme): Promise<void> {
    const line = `${account}:${await hashPassword(password, scheme)}`;
    let text = '';
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
    const lines = text.split('\n').filter((existing) => existing !== '');
    const index = lines.findIndex((existing) => existing.slice(0, existing.indexOf(':')).toLowerCase() === account);
    if (index >= 0) {
      const extra = lines[index].split(':').slice(2);
      lines[index] = extra.length > 0 ? `${line}:${extra.join(':')}` : line;
    } else {
      lines.push(line);
    }
    await fs.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const existing = await fs.stat(this.path).catch(() => undefined);
    const owner = existing ?? (await fs.stat(dirname(this.path)));
    const mode = existing ? existing.mode & 0o777 : 0o600;
    const temporary = join(dirname(this.path), `.passwd.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await fs.writeFile(temporary, `${lines.join('\n')}\n`, { mode: 0o600 });
      await fs.chmod(temporary, mode);
      // Only root can give a file away; anyone else writes a file of their own.
      if (process.getuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) {
        await fs.chown(temporary, owner.uid, owner.gid);
      }
      await fs.rename(temporary, this.path);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
    this.cache = undefined;
    this.checkedAt = 0;
  }

  async close(): Promise<void> {
    this.cache = undefined;
  }
}
