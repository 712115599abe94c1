import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadAuthKey } from '../../../src/adapters/auth-key';
import { registerAuthRoutes } from '../../../src/adapters/auth-routes';
import { createAppPassword, provisionSecretKey } from '../../../src/core/accounts';
import { storeUnavailable } from '../../../src/core/errors';
import { openStore } from '../../../src/store';
import type { Store } from '../../../src/store/types';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../../helpers/installation';
import { freePort } from '../../helpers/ports';

export const ACCOUNT = 'alice@example.org';
export const PASSWORD = 'Correct horse+battery%1';

/** A store whose every call fails while `down` is true, as when the SQLite file or Redis is unreachable. */
export function switchableStore(inner: Store): { store: Store; setDown(down: boolean): void } {
  let down = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'close') {
        return value;
      }
      return (...args: unknown[]) => {
        if (down) {
          return Promise.reject(storeUnavailable(String(property), new Error('test store is down')));
        }
        return (value as (...inner: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, setDown: (value: boolean) => (down = value) };
}

export interface TwoStepFixture {
  readonly installation: TestInstallation;
  readonly app: FastifyInstance;
  readonly port: number;
  readonly key: string;
  /** A file holding the shared key, readable by root only. */
  readonly keyFile: string;
  /** Scoped to imap and pop3. */
  readonly appPassword: string;
  /** Scoped to smtp only. */
  readonly smtpOnlyAppPassword: string;
  setStoreDown(down: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts TwoStep's auth endpoints on 127.0.0.1 for `alice@example.org`, enrolled with the
 * RFC 6238 key, at t = 1111111109 (code 081804 is current; 050471 is the next step's).
 */
export async function startTwoStep(iniText = ''): Promise<TwoStepFixture> {
  const storeDir = mkdtempSync(join(tmpdir(), 'twostep-store-'));
  const switchable = switchableStore(openStore(undefined, storeDir));
  const installation = await createTestInstallation({ store: switchable.store, iniText: `[policy]\nglobal = optional\n${iniText}` });
  const { context } = installation;
  await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'SHA512-CRYPT');
  await provisionSecretKey(context, { actor: 'test' }, ACCOUNT, RFC_KEY, 'Phone');
  const mail = await createAppPassword(context, { actor: 'test' }, ACCOUNT, 'Mail client', ['imap', 'pop3']);
  const smtpOnly = await createAppPassword(context, { actor: 'test' }, ACCOUNT, 'Printer', ['smtp']);

  const app = Fastify();
  await registerAuthRoutes(app, installation);
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  const key = await loadAuthKey(installation);
  const keyFile = join(installation.home, 'twostep.key');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });

  return {
    installation,
    app,
    port,
    key,
    keyFile,
    appPassword: mail.appPassword,
    smtpOnlyAppPassword: smtpOnly.appPassword,
    setStoreDown: switchable.setDown,
    async close() {
      await app.close();
      await installation.dispose();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
