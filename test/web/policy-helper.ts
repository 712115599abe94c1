import { updateAccount } from '../../src/core/accounts';
import type { PolicySetting } from '../../src/core/model';
import type { TestInstallation } from '../helpers/installation';

/** Sets an account-level policy directly in the store, as `twostep policy set` would. */
export async function setPolicy(installation: TestInstallation, account: string, policy: PolicySetting): Promise<void> {
  await updateAccount(installation.context, account, (record) => ({ ...record, policy }));
}
