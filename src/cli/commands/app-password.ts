import type { Command } from 'commander';
import { createAppPassword, getAccountStatus, revokeAppPassword } from '../../core/accounts';
import { parseScopes } from '../../core/app-passwords';
import type { CliHelpers } from '../helpers';
import { formatTable, formatTime, isoTime } from '../output';
import { parseExpiry } from '../parse';
import { APP_PASSWORD_HEADER, appPasswordRows, appPasswordView } from '../views';

interface AddOptions {
  name: string;
  scope: string;
  expires?: string;
}

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('app-password').description('create, list or revoke the app passwords of an account');

  const add = group
    .command('add')
    .description('create an app password for one mail client and print it once')
    .argument('<account>', 'the mail login, user@example.org')
    .requiredOption('--name <name>', 'what the app password is for, such as "Thunderbird on laptop"')
    .requiredOption('--scope <scopes>', 'comma-separated protocols it may sign in to: smtp, imap, pop3')
    .option('--expires <when>', 'expiry: a number of days such as 90d, or an ISO date (2027-01-31 means midnight UTC) or time');

  helpers.action<AddOptions>(add, async (session, [rawAccount], options) => {
    const scopes = parseScopes(options.scope);
    const expiresAt = options.expires === undefined ? undefined : parseExpiry(options.expires, Date.now());
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const { record, appPassword } = await createAppPassword(installation.context, session.actor, account, options.name, scopes, expiresAt);

    session.output.result(
      { account, id: record.id, name: record.name, scopes: record.scopes, createdAt: isoTime(record.createdAt), expiresAt: isoTime(record.expiresAt), appPassword },
      (result) => [
        `App password "${result.name}" for ${result.account} (${result.scopes.join(', ')}; expires ${record.expiresAt === undefined ? 'never' : formatTime(record.expiresAt)}):`,
        '',
        `    ${result.appPassword}`,
        '',
        'Enter it in the mail client instead of the account password. It is shown only this once.',
      ],
    );
  });

  const list = group
    .command('list')
    .description('list the app passwords with creation, last use (time, IP, protocol) and expiry; never the passwords themselves')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(list, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const status = await getAccountStatus(installation.context, account);
    const now = installation.context.now();

    session.output.result({ account, appPasswords: status.appPasswords.map((entry) => appPasswordView(entry, now)) }, () =>
      status.appPasswords.length === 0 ? `${account} has no app password.` : formatTable(APP_PASSWORD_HEADER, appPasswordRows(status.appPasswords, now)),
    );
  });

  const revoke = group
    .command('revoke')
    .description('revoke one app password; the mail client using it can no longer sign in')
    .argument('<account>', 'the mail login, user@example.org')
    .argument('<id-or-name>', 'the ID or the name shown by "twostep app-password list"');

  helpers.action(revoke, async (session, [rawAccount, idOrName]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const revoked = await revokeAppPassword(installation.context, session.actor, account, idOrName);

    session.output.result({ account, revoked: { id: revoked.id, name: revoked.name } }, (result) => `Revoked app password "${result.revoked.name}" (${result.revoked.id}) of ${result.account}.`);
  });
}
