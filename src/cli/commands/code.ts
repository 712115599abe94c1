import type { Command } from 'commander';
import { viewCurrentCodes } from '../../core/accounts';
import type { CliHelpers } from '../helpers';
import { cell, formatTable } from '../output';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('code')
    .description('print the current verification code of each device of the account and the seconds it stays valid (written to the audit log)')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(command, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const codes = await viewCurrentCodes(installation.context, session.actor, account);

    session.output.result(
      { account, codes: codes.map((entry) => ({ device: entry.deviceName, code: entry.code, secondsLeft: entry.secondsLeft })) },
      (result) => formatTable(['CODE', 'SECONDS LEFT', 'DEVICE'], result.codes.map((entry) => [entry.code, String(entry.secondsLeft), cell(entry.device)])),
    );
  });
}
