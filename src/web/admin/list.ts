import { domainOf, normalizeDomain } from '../../core/account';
import { parseClassName } from '../../core/directory';
import { ACCOUNT_STATES, type AccountFilters, type AccountRow, type AccountState } from '../../admin/account-list';
import { WebError, toWebError } from '../errors';

export { ACCOUNT_STATES, accountsCsv, listAccounts, type AccountFilters, type AccountRow, type AccountState } from '../../admin/account-list';

function queryText(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Reads the list filters from the query string; an empty field means no filter.
 * @throws WebError 400 for a bad domain, class or state.
 */
export function readFilters(query: Record<string, unknown>): AccountFilters {
  try {
    const domain = queryText(query, 'domain');
    const accountClass = queryText(query, 'class');
    const state = queryText(query, 'state');
    if (state !== undefined && !(ACCOUNT_STATES as readonly string[]).includes(state)) {
      throw new WebError(400, 'ERR_INVALID_INPUT', `Invalid state "${state.slice(0, 20)}": choose ${ACCOUNT_STATES.join(', ')}.`);
    }
    return {
      domain: domain === undefined ? undefined : normalizeDomain(domain),
      accountClass: accountClass === undefined ? undefined : parseClassName(accountClass),
      state: state as AccountState | undefined,
    };
  } catch (error) {
    throw toWebError(error);
  }
}

export function accountsJson(rows: readonly AccountRow[]) {
  return {
    accounts: rows.map(({ status, inPasswdFile }) => ({
      account: status.account,
      domain: domainOf(status.account),
      class: status.accountClass ?? null,
      policy: status.policy.policy,
      policySource: status.policy.source,
      enrolled: status.enrolled,
      devices: status.devices.length,
      appPasswords: status.appPasswords.length,
      recoveryCodesLeft: status.recoveryCodesLeft,
      secondFactorFailures: status.secondFactorFailures,
      locked: status.locked,
      inPasswdFile,
    })),
  };
}
