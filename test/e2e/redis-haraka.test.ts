import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppPassword, provisionSecretKey, revokeDevice } from '../../src/core/accounts';
import { generateCode, generateSecretKey } from '../../src/core/totp';
import { openInstallation, type Installation } from '../../src/installation';
import { prepareHarakaInstance } from '../../src/stack/haraka-instance';
import { ENCRYPTION_KEY_ENV } from '../../src/store/encryption-key';
import { startHaraka, smtpLogin, type RunningHaraka } from '../helpers/haraka-process';
import { freePort } from '../helpers/ports';
import { REDIS_SERVER, startRedis, type RedisServer } from '../helpers/redis';
import { describeWithPrograms } from '../helpers/system';

const ACCOUNT = 'alice@example.test';
const PASSWORD = 'shared-front-end-password';
const CLI = { actor: 'cli' };

function currentCode(secretKey: string): Promise<string> {
  return generateCode(secretKey, Math.floor(Date.now() / 1000));
}

describeWithPrograms('two Haraka instances on one Redis', [REDIS_SERVER], function () {
  this.timeout(60_000);
  let root: string;
  let redis: RedisServer;
  let first: RunningHaraka;
  let second: RunningHaraka;
  let admin: Installation;
  let secretKey: string;
  let deviceId: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'twostep-redis-haraka-'));
    redis = await startRedis();
    const env = { ...process.env, [ENCRYPTION_KEY_ENV]: randomBytes(32).toString('base64') };
    const passwdFile = join(root, 'passwd');
    const extraIni = [`[store]`, `url = ${redis.url('mail')}`, `[backend]`, `passwd_file = ${passwdFile}`].join('\n');

    const homes = [join(root, 'front-1'), join(root, 'front-2')];
    const ports = [await freePort(), await freePort()];
    for (const [index, home] of homes.entries()) {
      await prepareHarakaInstance({ home, smtpPort: ports[index], httpPort: await freePort(), extraIni, logLevel: 'warn' });
    }

    // The admin works through the first instance's config; both instances read the same Redis.
    admin = await openInstallation({ configDir: join(homes[0], 'config'), env });
    await admin.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'PLAIN');
    secretKey = generateSecretKey();
    deviceId = (await provisionSecretKey(admin.context, CLI, ACCOUNT, secretKey, 'Phone')).id;

    [first, second] = await Promise.all([startHaraka(homes[0], ports[0], env), startHaraka(homes[1], ports[1], env)]);
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await admin?.close();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('an app password works on both', async () => {
    const { appPassword } = await createAppPassword(admin.context, CLI, ACCOUNT, 'Laptop', ['smtp']);
    assert.deepEqual(await smtpLogin(first.port, ACCOUNT, appPassword), { accepted: true }, first.output().slice(-2000));
    assert.deepEqual(await smtpLogin(second.port, ACCOUNT, appPassword), { accepted: true });
  });

  it('a code used on one is a replay on the other', async () => {
    const credential = `${PASSWORD}${await currentCode(secretKey)}`;
    assert.deepEqual(await smtpLogin(first.port, ACCOUNT, credential), { accepted: true }, first.output().slice(-2000));

    // Another client address has no login grant, so the second instance must see the claimed step.
    const replay = await smtpLogin(second.port, ACCOUNT, credential, '127.0.0.2');
    assert.equal(replay.accepted, false);
    assert.equal(replay.accepted === false && replay.code, 535);

    // The same client reconnecting to the other front end uses the login grant created by the first.
    assert.deepEqual(await smtpLogin(second.port, ACCOUNT, credential), { accepted: true });
  });

  it('a device revoked through one is gone for the other', async () => {
    // Wait for the next time step, so this code has not been claimed by the test before.
    const step = Math.floor(Date.now() / 30_000);
    const credential = `${PASSWORD}${await generateCode(secretKey, (step + 1) * 30)}`;
    assert.deepEqual(await smtpLogin(second.port, ACCOUNT, credential), { accepted: true }, second.output().slice(-2000));
    assert.deepEqual(await smtpLogin(first.port, ACCOUNT, credential), { accepted: true }, 'the grant is shared');

    await revokeDevice(admin.context, CLI, ACCOUNT, deviceId);
    const afterRevoke = await smtpLogin(second.port, ACCOUNT, credential);
    assert.equal(afterRevoke.accepted, false, 'the login grant ended with the device');
    assert.equal((await smtpLogin(first.port, ACCOUNT, credential)).accepted, false);
  });
});
