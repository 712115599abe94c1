import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstallation } from '../../src/installation';
import { provisionSecretKey, viewCurrentCodes } from '../../src/core/accounts';
import { isTwoStepError } from '../../src/core/errors';
import { RFC_KEY } from '../helpers/installation';

describe('encryption key', () => {
  let home: string;
  let configDir: string;
  let dataDir: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'twostep-key-'));
    configDir = join(home, 'config');
    dataDir = join(home, 'data');
    mkdirSync(configDir);
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  const open = (env: NodeJS.ProcessEnv = {}) => openInstallation({ configDir, ini: {}, env: { TWOSTEP_DATA_DIR: dataDir, ...env }, now: () => 59_000 });

  it('is created on first start with mode 0600', async () => {
    const installation = await open();
    await installation.close();
    assert.equal(statSync(join(dataDir, 'encryption.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'store.sqlite')).mode & 0o777, 0o600);
  });

  it('secret keys are stored encrypted and read back', async () => {
    const installation = await open();
    await provisionSecretKey(installation.context, { actor: 'test' }, 'a@example.org', RFC_KEY);
    const raw = JSON.stringify(await installation.context.store.get('account:a@example.org'));
    assert.ok(!raw.includes(RFC_KEY), 'the secret key is stored in clear text');
    await installation.close();

    const reopened = await open();
    const [code] = await viewCurrentCodes(reopened.context, { actor: 'test' }, 'a@example.org');
    assert.equal(code.code, '287082');
    await reopened.close();
  });

  it('a missing key file is a start-up error, not a new key', async () => {
    (await open()).close();
    unlinkSync(join(dataDir, 'encryption.key'));
    await assert.rejects(open(), (error: unknown) => isTwoStepError(error, 'ERR_ENCRYPTION_KEY') && /missing encryption key/.test(error.message));
  });

  it('an empty store next to a key file is refused', async () => {
    await (await open()).close();
    // A mistyped [store] url: a new file in the data folder, where the key file already is.
    const typo = () => openInstallation({ configDir, ini: { store: { url: 'sqlite://typo.sqlite' } }, env: { TWOSTEP_DATA_DIR: dataDir } });
    await assert.rejects(typo(), (error: unknown) => {
      assert.ok(isTwoStepError(error, 'ERR_INVALID_CONFIG'));
      assert.match(error.message, /^the store named by \[store\] url has no TwoStep data, but .*encryption\.key exists/);
      assert.match(error.message, /twostep migrate/);
      return true;
    });
    assert.equal(existsSync(join(dataDir, 'typo.sqlite')), false, 'no empty file is left behind');
    // Refused again: the first try did not set the store up.
    await assert.rejects(typo(), (error: unknown) => isTwoStepError(error, 'ERR_INVALID_CONFIG'));
    // The store in use still opens.
    await (await open()).close();
  });

  it('a wrong key is a start-up error', async () => {
    (await open()).close();
    writeFileSync(join(dataDir, 'encryption.key'), Buffer.alloc(32, 7).toString('base64'));
    await assert.rejects(open(), (error: unknown) => isTwoStepError(error, 'ERR_ENCRYPTION_KEY') && /wrong encryption key/.test(error.message));
  });

  it('a malformed key in the environment names the variable', async () => {
    await assert.rejects(open({ TWOSTEP_ENCRYPTION_KEY: 'c2hvcnQ=' }), (error: unknown) => isTwoStepError(error, 'ERR_ENCRYPTION_KEY') && /TWOSTEP_ENCRYPTION_KEY/.test(error.message));
  });

  it('the key can come from the environment', async () => {
    const key = Buffer.alloc(32, 9).toString('base64');
    const installation = await open({ TWOSTEP_ENCRYPTION_KEY: key });
    await installation.close();
    assert.throws(() => statSync(join(dataDir, 'encryption.key')), /ENOENT/);
    const again = await open({ TWOSTEP_ENCRYPTION_KEY: key });
    await again.close();
  });
});
