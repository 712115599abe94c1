import type { Command } from 'commander';
import { ACCOUNT_STATES, accountsCsv, listAccounts } from '../../admin/account-list';
import { normalizeDomain } from '../../core/account';
import { parseClassName } from '../../core/directory';
import { UsageError } from '../errors';
import type { CliHelpers } from '../helpers';
import { cell, formatTable } from '../output';
import { parseChoice } from '../parse';
import { statusView, type StatusView } from './status';

const FORMATS = ['table', 'csv', 'json'] as const;

interface ListOptions {
  domain?: string;
  class?: string;
  state?: string;
  format?: string;
}

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('accounts').description('list accounts and their 2-Step Verification state');

  const list = group
    .command('list')
    .description('list the accounts in the passwd file and in the TwoStep store, with their 2-Step Verification state')
    .option('--domain <domain>', 'only accounts of this domain')
    .option('--class <class>', 'only accounts in this class')
    .option('--state <state>', `only accounts in this state: ${ACCOUNT_STATES.join(', ')}`)
    .option('--format <format>', `output format: ${FORMATS.join(', ')} (--json is the same as --format json)`);

  helpers.action<ListOptions>(list, async (session, _args, options) => {
    const domain = options.domain === undefined ? undefined : normalizeDomain(options.domain);
    const className = options.class === undefined ? undefined : parseClassName(options.class);
    const state = options.state === undefined ? undefined : parseChoice(options.state, '--state', ACCOUNT_STATES);
    let format = options.format === undefined ? 'table' : parseChoice(options.format, '--format', FORMATS);
    if (session.output.json) {
      if (options.format !== undefined && format !== 'json') {
        throw new UsageError(`--json and --format ${format} exclude each other`);
      }
      format = 'json';
    }

    const installation = await session.open();
    const listed = await listAccounts(installation, { domain, accountClass: className, state });

    if (format === 'csv') {
      session.output.raw(accountsCsv(listed));
      return;
    }
    const rows: StatusView[] = [];
    for (const { status } of listed) {
      rows.push(await statusView(installation, status));
    }
    if (format === 'json') {
      session.output.result({ accounts: rows }, () => []);
      return;
    }
    const yesNo = (value: boolean) => (value ? 'yes' : 'no');
    session.output.result(rows, () =>
      rows.length === 0
        ? 'No account matches.'
        : formatTable(
            ['ACCOUNT', 'POLICY', 'SOURCE', 'ENROLLED', 'DEVICES', 'APP PASSWORDS', 'LOCKED', 'CLASS', 'PASSWD FILE'],
            rows.map((row) => [
              cell(row.account),
              row.policy,
              row.policySource,
              yesNo(row.enrolled),
              String(row.devices.length),
              String(row.appPasswords.length),
              yesNo(row.locked),
              cell(row.class ?? undefined),
              yesNo(row.inPasswdFile),
            ]),
          ),
    );
  });
}
