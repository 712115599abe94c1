import assert from 'node:assert/strict';
import { assertFailure, CliHome } from './cli-runner';

interface PolicyJson {
  account: string;
  policy: string;
  source: string;
  levels: { account: string; class?: { name: string; policy: string }; domain: string; global: string };
}

describe('cli: policy, class and domain', function () {
  let cli: CliHome;
  const account = 'alice@example.org';

  beforeEach(async () => {
    cli = new CliHome();
    await cli.json(['passwd', account], { input: 'Winter2024\n' });
  });

  afterEach(() => {
    cli.remove();
  });

  const show = () => cli.json<PolicyJson>(['policy', 'show', account]);

  it('resolves policy through every level', async () => {
    assert.deepEqual([(await show()).policy, (await show()).source], ['optional', 'global']);

    await cli.json(['policy', 'set', 'disabled', '--global']);
    await cli.json(['domain', 'add', 'Example.ORG']);
    await cli.json(['policy', 'set', 'mandatory', '--domain', 'example.org']);
    let shown = await show();
    assert.equal(shown.policy, 'mandatory');
    assert.equal(shown.source, 'domain');
    assert.equal(shown.levels.global, 'disabled');

    await cli.json(['class', 'create', 'staff', '--policy', 'optional']);
    await cli.json(['class', 'assign', account, 'staff']);
    shown = await show();
    assert.equal(shown.source, 'class');
    assert.deepEqual(shown.levels.class, { name: 'staff', policy: 'optional' });

    await cli.json(['policy', 'set', 'disabled', '--account', account]);
    shown = await show();
    assert.deepEqual([shown.policy, shown.source], ['disabled', 'account']);

    await cli.json(['policy', 'set', 'inherit', '--account', account]);
    const text = await cli.run(['policy', 'show', account]);
    assert.match(text.stdout, /^alice@example.org: optional \(from the class level\)$/m);
    assert.match(text.stdout, /^class\s+optional \(class staff\)$/m);
  });

  it('rejects bad policy input', async () => {
    assertFailure(await cli.run(['policy', 'set', 'sometimes', '--global']), 1, /invalid policy "sometimes": expected disabled, optional, mandatory or inherit/);
    assertFailure(await cli.run(['policy', 'set', 'mandatory', '--domain', 'example.org']), 1, /domain example.org not found: add it first/);
    assertFailure(await cli.run(['policy', 'set', 'mandatory', '--class', 'staff']), 1, /class staff not found: create it first/);
    assertFailure(await cli.run(['policy', 'set', 'mandatory', '--account', 'bob@example.org']), 1, /account bob@example.org not found/);
    assertFailure(await cli.run(['policy', 'show', 'not-an-address']), 1, /invalid account/);
    assert.equal((await show()).source, 'global');
  });

  it('manages classes', async () => {
    await cli.json(['class', 'create', 'Staff']);
    assertFailure(await cli.run(['class', 'create', 'staff']), 1, /class staff already exists/);
    assertFailure(await cli.run(['class', 'create', 'bad name']), 1, /invalid class name "bad name": use 1-40 lower-case letters/);
    assertFailure(await cli.run(['class', 'create', 'x', '--policy', 'maybe']), 1, /invalid policy "maybe"/);
    const listed = await cli.json<{ classes: { name: string; policy: string }[] }>(['class', 'list']);
    assert.deepEqual(listed.classes.map((entry) => [entry.name, entry.policy]), [['staff', 'inherit']]);

    await cli.json(['class', 'assign', account, 'staff']);
    assert.equal((await cli.json<{ class: string }>(['status', account])).class, 'staff');
    await cli.json(['class', 'unassign', account]);
    assert.equal((await cli.json<{ class: string | null }>(['status', account])).class, null);

    await cli.json(['class', 'delete', 'staff']);
    assertFailure(await cli.run(['class', 'delete', 'staff']), 1, /class staff not found/);
    assert.deepEqual((await cli.json<{ classes: unknown[] }>(['class', 'list'])).classes, []);
  });

  it('leaves the account unchanged when assign fails', async () => {
    await cli.json(['class', 'create', 'staff']);
    await cli.json(['class', 'assign', account, 'staff']);
    const before = await cli.json(['status', account]);

    assertFailure(await cli.run(['class', 'assign', account, 'nosuch']), 1, /class nosuch not found: create it first with "twostep class create nosuch"/);
    assertFailure(await cli.run(['class', 'assign', 'bob@example.org', 'staff']), 1, /account bob@example.org not found/);
    assert.deepEqual(await cli.json(['status', account]), before);
    const accounts = await cli.json<{ accounts: { account: string }[] }>(['accounts', 'list']);
    assert.deepEqual(accounts.accounts.map((entry) => entry.account), [account], 'no record for bob');
  });

  it('manages domains', async () => {
    const added = await cli.json<{ domain: string; policy: string }>(['domain', 'add', 'Example.ORG']);
    assert.deepEqual([added.domain, added.policy], ['example.org', 'inherit']);
    await cli.json(['domain', 'add', 'example.net']);
    await cli.json(['policy', 'set', 'disabled', '--domain', 'example.net']);
    assertFailure(await cli.run(['domain', 'add', 'EXAMPLE.net']), 1, /^twostep: domain example\.net already exists$/);
    const installation = await cli.open();
    try {
      const events = await installation.context.store.listAudit({ limit: 100 });
      assert.equal(events.filter((event) => event.action === 'domain-added' && event.detail === 'example.net').length, 1, 'one domain-added event');
    } finally {
      await installation.close();
    }
    assertFailure(await cli.run(['domain', 'add', 'not a domain']), 1, /invalid domain "not a domain": expected a host name like example.org/);

    const text = await cli.run(['domain', 'list']);
    assert.match(text.stdout, /^DOMAIN\s+POLICY\s+ADDED\nexample.net\s+disabled\s+\S+\nexample.org\s+inherit\s+\S+\n$/);

    await cli.json(['domain', 'remove', 'example.net']);
    assertFailure(await cli.run(['domain', 'remove', 'example.net']), 1, /domain example.net not found/);
    const listed = await cli.json<{ domains: { domain: string }[] }>(['domain', 'list']);
    assert.deepEqual(listed.domains.map((entry) => entry.domain), ['example.org']);
  });
});
