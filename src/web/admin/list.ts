import { domainOf, normalizeDomain } from '../../core/account';
import { getAccountStatus, listStoredAccounts, type AccountStatus } from '../../core/accounts';
import { parseClassName } from '../../core/directory';
import type { Installation } from '../../installation';
import { formatCsv } from '../../cli/output';
import { WebError, toWebError } from '../errors';

export const ACCOUNT_STATES = ['enrolled', 'not-enrolled', 'locked'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

export interface AccountFilters {
  readonly domain?: string;
  readonly accountClass?: string;
  readonly state?: AccountState;
}

export interface AccountRow {
  readonly status: AccountStatus;
  readonly inPasswdFile: boolean;
}

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

function matchesState(status: AccountStatus, state: AccountState | undefined): boolean {
  switch (state) {
    case 'enrolled':
      return status.enrolled;
    case 'not-enrolled':
      return !status.enrolled;
    case 'locked':
      return status.locked;
    default:
      return true;
  }
}

/** Lists the accounts of the passwd file and the store that match the filters, sorted by name. */
export async function listAccounts(installation: Installation, filters: AccountFilters): Promise<AccountRow[]> {
  const names = new Set(await listStoredAccounts(installation.context));
  for (const account of (await installation.passwdFile?.listAccounts()) ?? []) {
    names.add(account);
  }

  const rows: AccountRow[] = [];
  for (const account of [...names].sort()) {
    if (filters.domain !== undefined && domainOf(account) !== filters.domain) {
      continue;
    }
    const status = await getAccountStatus(installation.context, account);
    if (filters.accountClass !== undefined && status.accountClass !== filters.accountClass) {
      continue;
    }
    if (!matchesState(status, filters.state)) {
      continue;
    }
    rows.push({ status, inPasswdFile: await installation.backend.hasAccount(account) });
  }
  return rows;
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** The export columns; the same as `twostep accounts list --format csv`. */
const CSV_HEADER = ['account', 'domain', 'class', 'policy', 'policy_source', 'enrolled', 'devices', 'app_passwords', 'recovery_codes_left', 'failed_codes', 'locked', 'in_passwd_file'];

export function accountsCsv(rows: readonly AccountRow[]): string {
  return formatCsv(
    CSV_HEADER,
    rows.map(({ status, inPasswdFile }) => [
      status.account,
      domainOf(status.account),
      status.accountClass ?? '',
      status.policy.policy,
      status.policy.source,
      yesNo(status.enrolled),
      String(status.devices.length),
      String(status.appPasswords.length),
      String(status.recoveryCodesLeft),
      String(status.secondFactorFailures),
      yesNo(status.locked),
      yesNo(inPasswdFile),
    ]),
  );
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
