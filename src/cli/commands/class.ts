import type { Command } from 'commander';
import { assignClass, createClass, deleteClass, listClasses, parseClassName, unassignClass } from '../../core/directory';
import type { CliHelpers } from '../helpers';
import { cell, formatTable, formatTime, isoTime } from '../output';

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('class').description('manage account classes, groups of accounts that share a policy');

  const create = group
    .command('create')
    .description('create an account class')
    .argument('<name>', '1-40 lower-case letters, digits, ".", "_" or "-"')
    .option('--policy <policy>', 'policy of the class: disabled, optional, mandatory or inherit', 'inherit');

  helpers.action<{ policy: string }>(create, async (session, [name], options) => {
    const installation = await session.open();
    const record = await createClass(installation.context, session.actor, name, options.policy);
    session.output.result({ name: record.name, policy: record.policy, createdAt: isoTime(record.createdAt) }, (result) => `Created class ${result.name} (policy ${result.policy}).`);
  });

  const remove = group
    .command('delete')
    .description('delete an account class; its accounts fall back to the domain and global policy')
    .argument('<name>', 'the class name');

  helpers.action(remove, async (session, [name]) => {
    const installation = await session.open();
    await deleteClass(installation.context, session.actor, name);
    session.output.result({ name: parseClassName(name), deleted: true }, (result) => `Deleted class ${result.name}.`);
  });

  const list = group.command('list').description('list the account classes and their policies');

  helpers.action(list, async (session) => {
    const installation = await session.open();
    const classes = await listClasses(installation.context);
    session.output.result({ classes: classes.map((entry) => ({ name: entry.name, policy: entry.policy, createdAt: isoTime(entry.createdAt) })) }, () =>
      classes.length === 0 ? 'No account class.' : formatTable(['NAME', 'POLICY', 'CREATED'], classes.map((entry) => [cell(entry.name), entry.policy, formatTime(entry.createdAt)])),
    );
  });

  const assign = group
    .command('assign')
    .description('put an account in a class (an account is in at most one class)')
    .argument('<account>', 'the mail login, user@example.org')
    .argument('<class>', 'an existing class name');

  helpers.action(assign, async (session, [rawAccount, name]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    await assignClass(installation.context, session.actor, account, name);
    const className = parseClassName(name);
    session.output.result({ account, class: className }, (result) => `Put ${result.account} in class ${result.class}.`);
  });

  const unassign = group
    .command('unassign')
    .description('take an account out of its class')
    .argument('<account>', 'the mail login, user@example.org');

  helpers.action(unassign, async (session, [rawAccount]) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    await unassignClass(installation.context, session.actor, account);
    session.output.result({ account, class: null }, (result) => `Took ${result.account} out of its class.`);
  });
}
