import type { Command } from 'commander';
import { normalizeDomain } from '../../core/account';
import { addDomain, listDomains, removeDomain } from '../../core/directory';
import type { CliHelpers } from '../helpers';
import { cell, formatTable, formatTime, isoTime } from '../output';

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('domain').description('manage the domains that have their own policy level (Account Defaults)');

  const add = group
    .command('add')
    .description('add a domain; its policy starts as inherit (set it with "twostep policy set --domain")')
    .argument('<domain>', 'a host name such as example.org');

  helpers.action(add, async (session, [rawDomain]) => {
    const installation = await session.open();
    const record = await addDomain(installation.context, session.actor, rawDomain);
    session.output.result({ domain: record.domain, policy: record.policy, createdAt: isoTime(record.createdAt) }, (result) => `Added domain ${result.domain} (policy ${result.policy}).`);
  });

  const list = group.command('list').description('list the domains and their policies');

  helpers.action(list, async (session) => {
    const installation = await session.open();
    const domains = await listDomains(installation.context);
    session.output.result({ domains: domains.map((entry) => ({ domain: entry.domain, policy: entry.policy, createdAt: isoTime(entry.createdAt) })) }, () =>
      domains.length === 0 ? 'No domain.' : formatTable(['DOMAIN', 'POLICY', 'ADDED'], domains.map((entry) => [cell(entry.domain), entry.policy, formatTime(entry.createdAt)])),
    );
  });

  const remove = group
    .command('remove')
    .description('remove a domain and its policy setting; its accounts fall back to the global policy unless a class or account level is set')
    .argument('<domain>', 'the domain name');

  helpers.action(remove, async (session, [rawDomain]) => {
    const domain = normalizeDomain(rawDomain);
    const installation = await session.open();
    await removeDomain(installation.context, session.actor, domain);
    session.output.result({ domain, removed: true }, (result) => `Removed domain ${result.domain}.`);
  });
}
