import assert from 'node:assert/strict';
import { confirmPairing, provisionSecretKey, startPairing } from '../../src/core/accounts';
import { isTwoStepError } from '../../src/core/errors';
import { decideLogin } from '../../src/core/login';
import { loadAccountState } from '../../src/core/state';
import { generateCode, parseOtpauthUri } from '../../src/core/totp';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';

const ACCOUNT = 'bob@example.org';
const PASSWORD = 'Summer 2025';
const ACTOR = { actor: 'test' };

describe('device pairing code length', () => {
  let installation: TestInstallation;

  beforeEach(async () => {
    installation = await createTestInstallation();
    await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'PLAIN');
  });

  afterEach(async () => {
    await installation.dispose();
  });

  const seconds = () => Math.floor(installation.clock.now() / 1000);

  it('new device follows 8-digit devices', async () => {
    const eight = { algorithm: 'sha512', digits: 8, period: 30 } as const;
    await provisionSecretKey(installation.context, ACTOR, ACCOUNT, RFC_KEY, 'Token', eight);

    const started = await startPairing(installation.context, ACTOR, ACCOUNT, 'Phone');
    assert.equal(parseOtpauthUri(started.otpauthUri).digits, 8);
    const settings = { algorithm: 'sha1', digits: 8, period: 30 } as const;
    await confirmPairing(installation.context, ACTOR, ACCOUNT, await generateCode(started.secretKey, seconds(), settings));

    const { record } = await loadAccountState(installation.context, ACCOUNT);
    assert.deepEqual(record.devices.map((device) => device.settings.digits), [8, 8]);
    // The new device's next code signs in over SMTP, split off the password by its 8 digits.
    const code = await generateCode(started.secretKey, seconds() + 30, settings);
    const decision = await decideLogin(installation.context, { account: ACCOUNT, secret: `${PASSWORD}${code}`, protocol: 'smtp', ip: '127.0.0.1' });
    assert.equal(decision.outcome, 'accepted');
  });

  it('provisioning checks every device', async () => {
    await provisionSecretKey(installation.context, ACTOR, ACCOUNT, RFC_KEY, 'Token');
    await assert.rejects(
      provisionSecretKey(installation.context, ACTOR, ACCOUNT, 'JBSWY3DPEHPK3PXP', 'Long', { algorithm: 'sha1', digits: 8, period: 30 }),
      (error: unknown) => isTwoStepError(error, 'ERR_CONFLICT') && /has devices with 6-digit codes/.test((error as Error).message),
    );
    const { record } = await loadAccountState(installation.context, ACCOUNT);
    assert.equal(record.devices.length, 1);
  });
});
