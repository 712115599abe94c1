import { domainOf } from '../core/account';
import { getAccountStatus, listStoredAccounts, type AccountStatus } from '../core/accounts';
import type { Installation } from '../installation';
import { formatCsv } from '../cli/output';

// The account list shared by `twostep accounts list` and the admin pages, so both filter
// the same way and export the same CSV columns.

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

/** The CSV export columns of the CLI and the admin pages. */
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
