import type { Command } from 'commander';
import { normalizeAccount } from '../../core/account';
import type { CliHelpers } from '../helpers';
import { cell, formatTable, formatTime, isoTime } from '../output';
import { parseCount, parseSince } from '../parse';

const MAX_LIMIT = 10_000;

interface AuditOptions {
  account?: string;
  since?: string;
  limit?: string;
}

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('audit')
    .description('show audit events, newest first')
    .option('--account <account>', 'only events of this account')
    .option('--since <when>', 'only events since a duration back (30m, 12h, 7d, 2w) or an ISO date or time')
    .option('--limit <count>', `the most events to show, 1 to ${MAX_LIMIT} (default 100)`);

  helpers.action<AuditOptions>(command, async (session, _args, options) => {
    const account = options.account === undefined ? undefined : normalizeAccount(options.account);
    const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
    const limit = parseCount(options.limit ?? '100', '--limit', 1, MAX_LIMIT);
    const installation = await session.open();
    const events = await installation.context.store.listAudit({ account, since, limit });

    session.output.result({ events: events.map((event) => ({ ...event, at: isoTime(event.at) })) }, () =>
      events.length === 0
        ? 'No audit event matches.'
        : formatTable(
            ['TIME', 'ACTOR', 'ACTION', 'ACCOUNT', 'IP', 'PROTOCOL', 'DETAIL'],
            events.map((event) => [formatTime(event.at), cell(event.actor), cell(event.action), cell(event.account), cell(event.ip), cell(event.protocol), cell(event.detail)]),
          ),
    );
  });
}
