import type { Command } from 'commander';
import { loadAuthKey } from '../../adapters/auth-key';
import type { CliHelpers } from '../helpers';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('auth-key')
    .description('print the shared key that nginx (X-TwoStep-Key header) and the Dovecot Lua passdb send to the auth endpoints');

  helpers.action(command, async (session) => {
    const installation = await session.open();
    const key = await loadAuthKey(installation);
    session.output.result({ key }, () => key);
  });
}
