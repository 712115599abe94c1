import assert from 'node:assert/strict';
import { provisionSecretKey, regenerateRecoveryCodes } from '../../src/core/accounts';
import { verifySecondFactor } from '../../src/core/sign-in';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';

const ALICE = 'alice@example.org';

describe('verifySecondFactor', () => {
  let installation: TestInstallation;

  beforeEach(async () => {
    installation = await createTestInstallation();
    await provisionSecretKey(installation.context, { actor: 'test' }, ALICE, RFC_KEY);
  });

  afterEach(async () => {
    await installation.dispose();
  });

  it('codes with spaces or missing zeros are rejected', async () => {
    for (const typed of [' 081804', '081804 ', '081 804', '81804', '0081804']) {
      const result = await verifySecondFactor(installation.context, ALICE, typed, '127.0.0.1');
      assert.equal(result.ok, false, JSON.stringify(typed));
    }
    assert.deepEqual(await verifySecondFactor(installation.context, ALICE, '081804', '127.0.0.1'), { ok: true, method: 'code' });
  });

  it('a recovery code is accepted once, with spaces and in upper case', async () => {
    const [code] = await regenerateRecoveryCodes(installation.context, { actor: 'test' }, ALICE);
    const typed = ` ${code.toUpperCase().replace('-', ' ')} `;
    assert.deepEqual(await verifySecondFactor(installation.context, ALICE, typed, '127.0.0.1'), { ok: true, method: 'recovery-code' });
    assert.equal((await verifySecondFactor(installation.context, ALICE, code, '127.0.0.1')).ok, false);
  });
});
