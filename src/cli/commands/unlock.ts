import type { Command } from 'commander';
import { unlockAccount } from '../../core/accounts';
import type { CliHelpers } from '../helpers';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('unlock')
    .description('clear the count of failed verification codes, which ends a second-factor lock')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(command, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const unlocked = await unlockAccount(installation.context, session.actor, account);

    session.output.result({ account, unlocked }, () =>
      unlocked ? `Cleared the failed verification codes of ${account}.` : `${account} has no failed verification codes; nothing changed.`,
    );
  });
}
