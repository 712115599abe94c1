import type { Command } from 'commander';
import { setPolicy, type PolicyTarget } from '../../core/directory';
import { parsePolicySetting } from '../../core/policy';
import { loadAccountState } from '../../core/state';
import type { CliHelpers } from '../helpers';
import { requireExactlyOne } from '../helpers';
import { formatTable } from '../output';

interface SetOptions {
  global?: boolean;
  domain?: string;
  class?: string;
  account?: string;
}

const LEVEL_OPTIONS = ['global', 'domain', 'class', 'account'] as const;

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('policy').description('set or show the 2-Step Verification policy (disabled, optional, mandatory)');

  const set = group
    .command('set')
    .description('set the policy at one level; the most specific level that is set wins, and "inherit" unsets a level')
    .argument('<policy>', 'disabled, optional, mandatory or inherit')
    .option('--global', 'the global level (overrides [policy] global in twostep.ini)')
    .option('--domain <domain>', 'the level of one domain (add it first with "twostep domain add")')
    .option('--class <class>', 'the level of one account class (create it first with "twostep class create")')
    .option('--account <account>', 'the level of one account');

  helpers.action<SetOptions>(set, async (session, [rawPolicy], options) => {
    const level = requireExactlyOne(options as Record<string, unknown>, LEVEL_OPTIONS);
    const policy = parsePolicySetting(rawPolicy);
    const installation = await session.open();

    let target: PolicyTarget;
    let subject: string;
    if (level === 'global') {
      target = { level: 'global' };
      subject = 'global';
    } else if (level === 'domain') {
      target = { level: 'domain', domain: options.domain! };
      subject = `domain ${options.domain}`;
    } else if (level === 'class') {
      target = { level: 'class', name: options.class! };
      subject = `class ${options.class}`;
    } else {
      const account = await helpers.requireAccount(installation, options.account!);
      target = { level: 'account', account };
      subject = `account ${account}`;
    }
    await setPolicy(installation.context, session.actor, target, policy);

    session.output.result({ level, target: subject, policy }, (result) => `Policy of ${result.target} set to ${result.policy}.`);
  });

  const show = group
    .command('show')
    .description('show the effective policy of an account, the level it comes from, and the setting of each level')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(show, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const state = await loadAccountState(installation.context, account);
    const levels = {
      account: state.levels.account ?? 'inherit',
      class: state.record.accountClass === undefined ? undefined : { name: state.record.accountClass, policy: state.levels.class ?? 'inherit' },
      domain: state.levels.domain ?? 'inherit',
      global: state.levels.global ?? 'inherit',
    };

    session.output.result({ account, policy: state.policy.policy, source: state.policy.source, levels }, (result) => [
      `${result.account}: ${result.policy} (from the ${result.source} level)`,
      '',
      ...formatTable(
        ['LEVEL', 'SETTING'],
        [
          ['account', result.levels.account],
          ['class', result.levels.class ? `${result.levels.class.policy} (class ${result.levels.class.name})` : '- (no class)'],
          ['domain', result.levels.domain],
          ['global', result.levels.global],
        ],
      ),
    ]);
  });
}
