import assert from 'node:assert/strict';
import { createAppPassword, revokeAppPassword } from '../../src/core/accounts';
import { isTwoStepError } from '../../src/core/errors';
import { keys, type AccountRecord } from '../../src/core/model';
import { parseScopes } from '../../src/core/app-passwords';
import { createTestInstallation, type TestInstallation } from '../helpers/installation';

const ALICE = 'alice@example.org';
const CLI = { actor: 'cli:test' };

describe('app passwords', () => {
  let installation: TestInstallation;

  beforeEach(async () => {
    installation = await createTestInstallation();
  });

  afterEach(async () => {
    await installation.dispose();
  });

  it('rejects a duplicate name, writing nothing', async () => {
    await createAppPassword(installation.context, CLI, ALICE, 'Thunderbird', ['smtp']);
    await assert.rejects(
      createAppPassword(installation.context, CLI, ALICE, 'thunderbird', ['imap']),
      (error: unknown) => isTwoStepError(error, 'ERR_CONFLICT') && /already exists/.test(error.message),
    );
    const record = await installation.context.store.get<AccountRecord>(keys.account(ALICE));
    assert.equal(record?.appPasswords.length, 1);
  });

  it('revoking by an ambiguous name asks for the id', async () => {
    const first = await createAppPassword(installation.context, CLI, ALICE, 'Phone', ['smtp']);
    // Records written before names had to be unique can still hold duplicates.
    await installation.context.store.update<AccountRecord>(keys.account(ALICE), (current) => ({
      ...current!,
      appPasswords: [...current!.appPasswords, { ...first.record, id: 'second-id' }],
    }));
    await assert.rejects(revokeAppPassword(installation.context, CLI, ALICE, 'Phone'), (error: unknown) => isTwoStepError(error, 'ERR_CONFLICT') && /by its id/.test(error.message));
    const revoked = await revokeAppPassword(installation.context, CLI, ALICE, 'second-id');
    assert.equal(revoked.id, 'second-id');
  });

  it('parseScopes accepts a list and rejects unknown scopes', () => {
    assert.deepEqual(parseScopes('IMAP, smtp,imap'), ['smtp', 'imap']);
    assert.throws(() => parseScopes('smtp,web'), (error: unknown) => isTwoStepError(error, 'ERR_INVALID_SCOPE') && /expected smtp, imap or pop3/.test(error.message));
    assert.throws(() => parseScopes(' , '), (error: unknown) => isTwoStepError(error, 'ERR_INVALID_SCOPE'));
  });
});
