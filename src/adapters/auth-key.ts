import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../core/context';
import { TwoStepError } from '../core/errors';
import type { IniConfig } from '../core/options';
import { constantTimeEqual } from '../core/secrets';

/** The request header that carries the shared key (nginx: `auth_http_header X-TwoStep-Key "…"`). */
export const AUTH_KEY_HEADER = 'x-twostep-key';
export const AUTH_KEY_FILE_NAME = 'auth.key';
/** A configured key shorter than this is rejected: it guards every mail login. */
const MIN_KEY_LENGTH = 24;
// The key goes into an HTTP header and into nginx and Dovecot config lines, so it stays printable ASCII without spaces or quotes.
const KEY_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;

function validateKey(key: string, where: string): string {
  if (key.length < MIN_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new TwoStepError(
      'ERR_INVALID_CONFIG',
      `invalid auth endpoint key in ${where}: expected at least ${MIN_KEY_LENGTH} characters from A-Z a-z 0-9 . _ ~ + / = -`,
    );
  }
  return key;
}

/**
 * Returns the shared key that nginx and Dovecot send to the auth endpoints:
 * `[auth_endpoints] key` from twostep.ini when set, otherwise `auth.key` in the data folder,
 * created on first use with mode 0600.
 * @throws TwoStepError ERR_INVALID_CONFIG for an unusable configured or stored key.
 */
export async function loadAuthKey(installation: { readonly dataDir: string; readonly ini: IniConfig }): Promise<string> {
  const configured = installation.ini.auth_endpoints?.key;
  if (typeof configured === 'string' && configured.trim() !== '') {
    return validateKey(configured.trim(), 'twostep.ini [auth_endpoints] key');
  }

  const path = join(installation.dataDir, AUTH_KEY_FILE_NAME);
  try {
    return validateKey((await fs.readFile(path, 'utf8')).trim(), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }

  const key = randomBytes(32).toString('base64url');
  try {
    // O_EXCL: when two processes start at once, one creates the file and the other reads it.
    const handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await handle.writeFile(`${key}\n`);
    await handle.close();
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return validateKey((await fs.readFile(path, 'utf8')).trim(), path);
    }
    throw error;
  }
}

/**
 * Checks the shared key of an auth endpoint request in constant time. Sends 401 for a missing
 * key and 403 for a wrong one, and returns false; the log line never contains the key.
 */
export function checkAuthKey(request: FastifyRequest, reply: FastifyReply, expected: string, logger: Logger): boolean {
  const sent = request.headers[AUTH_KEY_HEADER];
  if (typeof sent !== 'string' || sent === '') {
    logger.warn({ event: 'auth-endpoint-key', route: request.url.split('?')[0], ip: request.ip, result: 'missing' }, 'auth endpoint request without the X-TwoStep-Key header');
    void reply.code(401).type('text/plain').send(`missing ${AUTH_KEY_HEADER} header\n`);
    return false;
  }
  if (!constantTimeEqual(sent, expected)) {
    logger.warn({ event: 'auth-endpoint-key', route: request.url.split('?')[0], ip: request.ip, result: 'wrong' }, 'auth endpoint request with a wrong X-TwoStep-Key header');
    void reply.code(403).type('text/plain').send(`wrong ${AUTH_KEY_HEADER} header\n`);
    return false;
  }
  return true;
}
