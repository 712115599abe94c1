import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { TwoStepError } from '../core/errors';
import { keys } from '../core/model';
import { SecretBox } from '../core/secrets';
import type { Store } from './types';

export const ENCRYPTION_KEY_ENV = 'TWOSTEP_ENCRYPTION_KEY';
export const KEY_FILE_NAME = 'encryption.key';

function decodeKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new TwoStepError('ERR_ENCRYPTION_KEY', `invalid encryption key in ${origin}: expected 32 bytes as base64 or 64 hex digits`);
  }
  return key;
}

export interface LoadKeyOptions {
  /**
   * Lets a store without TwoStep data be set up with the key of an existing key file (tests and
   * tools that build a second store on purpose). Without it, that is an error: such a store is
   * not the installation's store, and setting it up would start it empty.
   */
  readonly allowNewStore?: boolean;
}

/**
 * Loads the master key from TWOSTEP_ENCRYPTION_KEY or `DATA_DIR/encryption.key`, creating the
 * file (mode 0600) on first start. A store that already holds data encrypted under another
 * key, or whose key file is gone, is a start-up error: silently creating a new key would make
 * every enrolled device unusable. So is a store without TwoStep data next to an existing key
 * file: an installation was set up there with another store, and `[store] url` is likely wrong.
 * @throws TwoStepError ERR_ENCRYPTION_KEY with what to restore; ERR_INVALID_CONFIG for a store that is not the installation's.
 */
export async function loadSecretBox(dataDir: string, store: Store, env: NodeJS.ProcessEnv = process.env, options: LoadKeyOptions = {}): Promise<SecretBox> {
  let storedKeyId = await store.get<string>(keys.encryptionKeyId);
  let masterKey: Buffer;
  const fromEnv = env[ENCRYPTION_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    masterKey = decodeKey(fromEnv, ENCRYPTION_KEY_ENV);
  } else {
    const path = join(dataDir, KEY_FILE_NAME);
    const existing = await readKeyFile(path);
    if (existing && storedKeyId === undefined && !options.allowNewStore) {
      // Another process starting on a new installation writes the key file, then the key id.
      storedKeyId = await waitForKeyId(store);
    }
    if (existing && storedKeyId === undefined && !options.allowNewStore) {
      throw new TwoStepError(
        'ERR_INVALID_CONFIG',
        `the store named by [store] url has no TwoStep data, but ${path} exists: an installation was set up in ${dataDir} with another store. ` +
          `Fix [store] url, or copy the installation there with "twostep migrate"; to start an empty installation, move ${KEY_FILE_NAME} away first`,
      );
    }
    masterKey = existing ?? (await createKeyFile(path, storedKeyId));
  }
  const box = new SecretBox(masterKey);

  if (storedKeyId === undefined) {
    const written = await store.update<string>(keys.encryptionKeyId, (current) => current ?? box.keyId);
    if (written !== box.keyId) {
      throw new TwoStepError('ERR_ENCRYPTION_KEY', `the store was initialised with encryption key ${written} by another process, but this process loaded key ${box.keyId}`);
    }
  } else if (storedKeyId !== box.keyId) {
    throw new TwoStepError(
      'ERR_ENCRYPTION_KEY',
      `wrong encryption key: the store was encrypted with key id ${storedKeyId}, but the loaded key has id ${box.keyId}; restore the original ${KEY_FILE_NAME} or ${ENCRYPTION_KEY_ENV}`,
    );
  }
  return box;
}

/** How long a process waits for the key id that another process starting at the same time writes. */
const KEY_ID_WAIT_MS = 1000;

async function waitForKeyId(store: Store): Promise<string | undefined> {
  const deadline = Date.now() + KEY_ID_WAIT_MS;
  let keyId: string | undefined;
  while (keyId === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    keyId = await store.get<string>(keys.encryptionKeyId);
  }
  return keyId;
}

/** Reads the key file; undefined when it does not exist. */
async function readKeyFile(path: string): Promise<Buffer | undefined> {
  try {
    return decodeKey(await fs.readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error instanceof TwoStepError ? error : new TwoStepError('ERR_ENCRYPTION_KEY', `cannot read encryption key ${path}: ${(error as Error).message}`);
  }
}

async function createKeyFile(path: string, storedKeyId: string | undefined): Promise<Buffer> {
  if (storedKeyId !== undefined) {
    throw new TwoStepError(
      'ERR_ENCRYPTION_KEY',
      `missing encryption key: ${path} does not exist, but the store holds data encrypted with key id ${storedKeyId}; restore the key file or set ${ENCRYPTION_KEY_ENV}`,
    );
  }
  const key = SecretBox.generateMasterKey();
  try {
    // `wx` fails if another process created the file first; then that process's key is used.
    await fs.writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return decodeKey(await fs.readFile(path, 'utf8'), path);
    }
    throw new TwoStepError('ERR_ENCRYPTION_KEY', `cannot create encryption key ${path}: ${(error as Error).message}`);
  }
}
