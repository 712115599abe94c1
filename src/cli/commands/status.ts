import type { Command } from 'commander';
import { getAccountStatus, type AccountStatus } from '../../core/accounts';
import type { Installation } from '../../installation';
import type { CliHelpers } from '../helpers';
import { cell, formatTable } from '../output';
import { APP_PASSWORD_HEADER, DEVICE_HEADER, appPasswordRows, appPasswordView, deviceRows, deviceView } from '../views';

/** Builds the JSON view of an account's status; shared with `accounts list`. */
export async function statusView(installation: Installation, status: AccountStatus) {
  const now = installation.context.now();
  return {
    account: status.account,
    policy: status.policy.policy,
    policySource: status.policy.source,
    accountPolicy: status.accountPolicy,
    class: status.accountClass ?? null,
    enrolled: status.enrolled,
    pendingDevice: status.pendingDevice,
    devices: status.devices.map(deviceView),
    appPasswords: status.appPasswords.map((entry) => appPasswordView(entry, now)),
    recoveryCodesLeft: status.recoveryCodesLeft,
    secondFactorFailures: status.secondFactorFailures,
    lockAfter: installation.options.lockAfter,
    locked: status.locked,
    inPasswdFile: await installation.backend.hasAccount(status.account),
  };
}

export type StatusView = Awaited<ReturnType<typeof statusView>>;

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('status')
    .description('show the 2-Step Verification state of an account: policy and its source, devices, app passwords, recovery codes, failures, lock and class')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(command, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const status = await getAccountStatus(installation.context, account);
    const view = await statusView(installation, status);
    const now = installation.context.now();

    session.output.result(view, (result) => [
      `Account:          ${result.account}${result.inPasswdFile ? '' : ' (not in the passwd file)'}`,
      `Policy:           ${result.policy} (from the ${result.policySource} level; account setting: ${result.accountPolicy})`,
      `Class:            ${result.class === null ? '-' : cell(result.class)}`,
      `Enrolled:         ${result.enrolled ? 'yes' : 'no'}${result.pendingDevice ? ' (a device is waiting for confirmation)' : ''}`,
      `Recovery codes:   ${result.recoveryCodesLeft} left`,
      `Failed codes:     ${result.secondFactorFailures} of ${result.lockAfter} allowed${result.locked ? ' - LOCKED: clear with "twostep unlock"' : ''}`,
      `Locked:           ${result.locked ? 'yes' : 'no'}`,
      '',
      `Devices (${status.devices.length}):`,
      ...(status.devices.length === 0 ? ['  none'] : formatTable(DEVICE_HEADER, deviceRows(status.devices)).map((line) => `  ${line}`)),
      '',
      `App passwords (${status.appPasswords.length}):`,
      ...(status.appPasswords.length === 0 ? ['  none'] : formatTable(APP_PASSWORD_HEADER, appPasswordRows(status.appPasswords, now)).map((line) => `  ${line}`)),
    ]);
  });
}
