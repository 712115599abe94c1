import { domainOf } from './account';
import type { TwoStepContext } from './context';
import { emptyAccountRecord, keys, type AccountRecord, type ClassRecord, type DomainRecord, type PolicySetting } from './model';
import { resolvePolicy, type EffectivePolicy, type PolicyLevels } from './policy';

export interface AccountState {
  readonly record: AccountRecord;
  /** False when the store has nothing for the account yet; `record` is then an empty one. */
  readonly stored: boolean;
  readonly levels: PolicyLevels;
  readonly policy: EffectivePolicy;
  /** The values of `extraKeys`, read in the same round trip. */
  readonly extra: readonly unknown[];
  /** The counts of `counterKeys`, read in the same round trip. */
  readonly counters: readonly number[];
}

/**
 * Reads the global setting stored by `twostep policy set --global`, falling back to twostep.ini.
 */
async function readGlobalPolicy(context: TwoStepContext, stored: PolicySetting | undefined): Promise<PolicySetting> {
  return stored !== undefined && stored !== 'inherit' ? stored : context.options.globalPolicy;
}

/**
 * Loads an account's record and the policy levels that apply to it, in one store round trip
 * (two when the account has a class). `extraKeys` and `counterKeys` are read in the same round trip.
 */
export async function loadAccountState(
  context: TwoStepContext,
  account: string,
  extraKeys: readonly string[] = [],
  counterKeys: readonly string[] = [],
): Promise<AccountState> {
  const { values, counters } = await context.store.readMany<unknown>(
    [keys.account(account), keys.domain(domainOf(account)), keys.globalPolicy, ...extraKeys],
    counterKeys,
  );
  const [storedRecord, domainRecord, globalSetting, ...extra] = values;
  const record = (storedRecord as AccountRecord | undefined) ?? emptyAccountRecord(account, context.now());
  const classRecord = record.accountClass
    ? await context.store.get<ClassRecord>(keys.accountClass(record.accountClass))
    : undefined;
  const levels: PolicyLevels = {
    global: await readGlobalPolicy(context, globalSetting as PolicySetting | undefined),
    domain: (domainRecord as DomainRecord | undefined)?.policy,
    class: classRecord?.policy,
    account: record.policy,
  };
  return { record: withoutExpiredPending(record, context.now()), stored: storedRecord !== undefined, levels, policy: resolvePolicy(levels), extra, counters };
}

function withoutExpiredPending(record: AccountRecord, now: number): AccountRecord {
  if (record.pendingDevice && record.pendingDevice.expiresAt <= now) {
    const { pendingDevice: _expired, ...rest } = record;
    return rest;
  }
  return record;
}
