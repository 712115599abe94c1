import type { Command } from 'commander';
import { getAccountStatus, revokeAllDevices, revokeDevice } from '../../core/accounts';
import { formatCount } from '../../core/counts';
import type { CliHelpers } from '../helpers';
import { formatTable } from '../output';
import { DEVICE_HEADER, deviceRows, deviceView } from '../views';

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('devices').description('list or revoke the devices (authenticators) of an account');

  const list = group
    .command('list')
    .description('list the devices with their creation, last use and TOTP settings (algorithm, digits, time step)')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(list, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const status = await getAccountStatus(installation.context, account);

    session.output.result({ account, devices: status.devices.map(deviceView) }, () =>
      status.devices.length === 0 ? `${account} has no device.` : formatTable(DEVICE_HEADER, deviceRows(status.devices)),
    );
  });

  const revoke = group
    .command('revoke')
    .description('revoke every device of the account (and its recovery codes), or one device with --id; with policy optional this turns 2-Step Verification off')
    .argument('<account>', 'the mail login, user@example.org')
    .option('--id <device-id>', 'revoke only this device (see "twostep devices list")');

  helpers.action<{ id?: string }>(revoke, async (session, [rawAccount], options) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    if (options.id !== undefined) {
      const device = await revokeDevice(installation.context, session.actor, account, options.id);
      session.output.result({ account, revoked: 1, device: { id: device.id, name: device.name } }, () => `Revoked device "${device.name}" of ${account}.`);
      return;
    }
    const count = await revokeAllDevices(installation.context, session.actor, account);
    session.output.result({ account, revoked: count }, () => (count === 0 ? `${account} has no device to revoke; nothing changed.` : `Revoked ${formatCount(count, 'device')} of ${account}.`));
  });
}
