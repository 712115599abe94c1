import type { Command } from 'commander';
import { regenerateRecoveryCodes } from '../../core/accounts';
import type { CliHelpers } from '../helpers';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('recovery-codes')
    .description('replace the recovery codes of an enrolled account and print the new ones once; the old ones stop working')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(command, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const codes = await regenerateRecoveryCodes(installation.context, session.actor, account);

    session.output.result({ account, recoveryCodes: codes }, (result) => [
      `New recovery codes for ${result.account}; each works once in the web panel, and they are shown only this once:`,
      '',
      ...result.recoveryCodes.map((code) => `    ${code}`),
    ]);
  });
}
