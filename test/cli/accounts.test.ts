import assert from 'node:assert/strict';
import { keys } from '../../src/core/model';
import { decideLogin } from '../../src/core/login';
import { generateCode } from '../../src/core/totp';
import { RFC_KEY } from '../helpers/installation';
import { assertFailure, CliHome, EXPECTED_ACTOR } from './cli-runner';

interface StatusJson {
  account: string;
  policy: string;
  policySource: string;
  class: string | null;
  enrolled: boolean;
  devices: { id: string; name: string; lastUse?: { ip: string; protocol: string } }[];
  appPasswords: unknown[];
  recoveryCodesLeft: number;
  secondFactorFailures: number;
  locked: boolean;
  inPasswdFile: boolean;
}

describe('cli: devices, status, unlock, accounts and audit', function () {
  let cli: CliHome;
  const alice = 'alice@example.org';

  beforeEach(async () => {
    cli = new CliHome();
    await cli.json(['passwd', alice], { input: 'Winter2024\n' });
  });

  afterEach(() => {
    cli.remove();
  });

  const status = (account = alice) => cli.json<StatusJson>(['status', account]);

  /** Runs `work` on the installation in this process; the CLI must not run meanwhile. */
  async function withInstallation<T>(work: (installation: Awaited<ReturnType<CliHome['open']>>) => Promise<T>): Promise<T> {
    const installation = await cli.open();
    try {
      return await work(installation);
    } finally {
      await installation.close();
    }
  }

  it('lists devices with last use and revokes them', async () => {
    await cli.json(['secret', 'set', alice, RFC_KEY, '--name', 'Phone']);
    await withInstallation(async (installation) => {
      const code = await generateCode(RFC_KEY, Math.floor(Date.now() / 1000));
      const decision = await decideLogin(installation.context, { account: alice, secret: `Winter2024${code}`, protocol: 'smtp', ip: '127.0.0.9' });
      assert.equal(decision.outcome, 'accepted');
    });

    const listed = await cli.json<{ devices: StatusJson['devices'] }>(['devices', 'list', alice]);
    assert.equal(listed.devices[0].name, 'Phone');
    assert.deepEqual([listed.devices[0].lastUse?.ip, listed.devices[0].lastUse?.protocol], ['127.0.0.9', 'smtp']);
    const text = await cli.run(['devices', 'list', alice]);
    assert.match(text.stdout, /Phone\s+\S+\s+\S+ from 127\.0\.0\.9 \(smtp\)/);

    await cli.json(['secret', 'set', alice, 'JBSWY3DPEHPK3PXP', '--name', 'Spare']);
    assertFailure(await cli.run(['devices', 'revoke', alice, '--id', 'nosuch']), 1, /device nosuch not found for alice@example.org/);
    const revoked = await cli.json<{ revoked: number }>(['devices', 'revoke', alice]);
    assert.equal(revoked.revoked, 2);
    assert.equal((await status()).enrolled, false);
    assertFailure(await cli.run(['devices', 'revoke', 'bob@example.org']), 1, /account bob@example.org not found/);
  });

  it('revoke without device changes nothing', async () => {
    const text = await cli.run(['devices', 'revoke', alice]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'alice@example.org has no device to revoke; nothing changed.\n');
    const json = await cli.json<{ revoked: number }>(['devices', 'revoke', alice]);
    assert.equal(json.revoked, 0);

    const events = await withInstallation((installation) => installation.context.store.listAudit({ account: alice }));
    assert.deepEqual(events.filter((event) => event.action === 'devices-revoked-all'), []);
  });

  it('revoke counts in singular and plural', async () => {
    await cli.json(['secret', 'set', alice, RFC_KEY, '--name', 'Phone']);
    const oneDevice = await cli.run(['devices', 'revoke', alice]);
    assert.equal(oneDevice.stdout, 'Revoked 1 device of alice@example.org.\n');

    await cli.json(['secret', 'set', alice, RFC_KEY, '--name', 'Phone']);
    await cli.json(['secret', 'set', alice, 'JBSWY3DPEHPK3PXP', '--name', 'Spare']);
    const twoDevices = await cli.run(['devices', 'revoke', alice]);
    assert.equal(twoDevices.stdout, 'Revoked 2 devices of alice@example.org.\n');

    const events = await withInstallation((installation) => installation.context.store.listAudit({ account: alice }));
    const details = events.filter((event) => event.action === 'devices-revoked-all').map((event) => event.detail);
    assert.deepEqual(details.sort(), ['1 device', '2 devices']);
  });

  it('shows TOTP settings per device', async () => {
    await cli.json(['secret', 'set', alice, RFC_KEY, '--name', 'Phone']);
    await cli.json(['secret', 'set', alice, 'JBSWY3DPEHPK3PXP', '--name', 'Token', '--algorithm', 'sha256', '--period', '60']);
    const expected = [
      { name: 'Phone', algorithm: 'SHA1', digits: 6, period: 30 },
      { name: 'Token', algorithm: 'SHA256', digits: 6, period: 60 },
    ];
    type SettingsJson = { devices: { name: string; algorithm: string; digits: number; period: number }[] };
    const settingsOf = (document: SettingsJson) =>
      document.devices.map(({ name, algorithm, digits, period }) => ({ name, algorithm, digits, period }));

    assert.deepEqual(settingsOf(await cli.json<SettingsJson>(['status', alice])), expected);
    assert.deepEqual(settingsOf(await cli.json<SettingsJson>(['devices', 'list', alice])), expected);
    const listed = await cli.json<{ accounts: SettingsJson[] }>(['accounts', 'list']);
    assert.deepEqual(settingsOf(listed.accounts[0]), expected);

    const statusText = await cli.run(['status', alice]);
    assert.match(statusText.stdout, /^ {2}ID\s+NAME\s+CREATED\s+LAST USED\s+TOTP$/m);
    assert.match(statusText.stdout, /^ {2}\S+\s+Phone\s+\S+\s+never\s+SHA1, 6 digits, 30 s$/m);
    assert.match(statusText.stdout, /^ {2}\S+\s+Token\s+\S+\s+never\s+SHA256, 6 digits, 60 s$/m);
    const listText = await cli.run(['devices', 'list', alice]);
    assert.match(listText.stdout, /^ID\s+NAME\s+CREATED\s+LAST USED\s+TOTP$/m);
    assert.match(listText.stdout, /^\S+\s+Phone\s+\S+\s+never\s+SHA1, 6 digits, 30 s$/m);
    assert.match(listText.stdout, /^\S+\s+Token\s+\S+\s+never\s+SHA256, 6 digits, 60 s$/m);
  });

  it('shows the full status', async () => {
    await cli.json(['secret', 'set', alice, RFC_KEY]);
    await cli.json(['recovery-codes', alice]);
    await cli.json(['app-password', 'add', alice, '--name', 'Mail', '--scope', 'imap']);
    const shown = await status();
    assert.equal(shown.policy, 'optional');
    assert.equal(shown.policySource, 'global');
    assert.equal(shown.enrolled, true);
    assert.equal(shown.devices.length, 1);
    assert.equal(shown.appPasswords.length, 1);
    assert.equal(shown.recoveryCodesLeft, 10);
    assert.equal(shown.locked, false);
    assert.equal(shown.inPasswdFile, true);

    const text = await cli.run(['status', alice]);
    assert.match(text.stdout, /^Policy: +optional \(from the global level; account setting: inherit\)$/m);
    assert.match(text.stdout, /^Recovery codes: +10 left$/m);
    assert.match(text.stdout, /^Locked: +no$/m);
  });

  it('prints recovery codes once and needs a device', async () => {
    assertFailure(await cli.run(['recovery-codes', alice]), 1, /recovery codes need 2-Step Verification turned on first/);
    await cli.json(['secret', 'set', alice, RFC_KEY]);
    const first = await cli.json<{ recoveryCodes: string[] }>(['recovery-codes', alice]);
    assert.equal(first.recoveryCodes.length, 10);
    first.recoveryCodes.forEach((code) => assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/));
    const text = await cli.run(['recovery-codes', alice]);
    assert.equal((text.stdout.match(/^ {4}[a-z2-9]{5}-[a-z2-9]{5}$/gm) ?? []).length, 10);
    assert.equal(first.recoveryCodes.some((code) => text.stdout.includes(code)), false, 'new codes');
  });

  it('unlocks a locked account', async () => {
    await withInstallation(async (installation) => {
      for (let i = 0; i < installation.options.lockAfter; i++) {
        await installation.context.store.increment(keys.secondFactorFailures(alice));
      }
    });
    const locked = await status();
    assert.equal(locked.locked, true);
    assert.equal(locked.secondFactorFailures, 10);
    assert.deepEqual((await cli.json<{ accounts: { account: string }[] }>(['accounts', 'list', '--state', 'locked'])).accounts.map((entry) => entry.account), [alice]);

    const result = await cli.run(['unlock', alice]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Cleared the failed verification codes of alice@example.org/);
    const unlocked = await status();
    assert.equal(unlocked.locked, false);
    assert.equal(unlocked.secondFactorFailures, 0);
    const again = await cli.run(['unlock', alice]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /alice@example\.org has no failed verification codes; nothing changed\./);
    const audit = await cli.json<{ events: { action: string }[] }>(['audit', '--account', alice]);
    assert.equal(audit.events.filter((event) => event.action === 'account-unlocked').length, 1, 'the second unlock is not audited');
    assertFailure(await cli.run(['unlock', 'bob@example.org']), 1, /account bob@example.org not found/);
  });

  it('filters the account list', async () => {
    await cli.json(['passwd', 'bob@example.net'], { input: 'x\n' });
    await cli.json(['passwd', 'carol@example.org'], { input: 'x\n' });
    await cli.json(['secret', 'set', 'carol@example.org', RFC_KEY]);
    await cli.json(['class', 'create', 'staff']);
    await cli.json(['class', 'assign', 'bob@example.net', 'staff']);

    const names = async (...options: string[]) =>
      (await cli.json<{ accounts: { account: string }[] }>(['accounts', 'list', ...options])).accounts.map((entry) => entry.account);
    assert.deepEqual(await names(), [alice, 'bob@example.net', 'carol@example.org']);
    assert.deepEqual(await names('--domain', 'Example.ORG'), [alice, 'carol@example.org']);
    assert.deepEqual(await names('--class', 'staff'), ['bob@example.net']);
    assert.deepEqual(await names('--state', 'enrolled'), ['carol@example.org']);
    assert.deepEqual(await names('--state', 'not-enrolled', '--domain', 'example.org'), [alice]);
    assert.deepEqual(await names('--format', 'json'), [alice, 'bob@example.net', 'carol@example.org']);

    const table = await cli.run(['accounts', 'list']);
    assert.match(table.stdout, /^ACCOUNT\s+POLICY\s+SOURCE\s+ENROLLED/);
    assert.match(table.stdout, /^carol@example.org\s+optional\s+global\s+yes\s+1\b/m);

    assertFailure(await cli.run(['accounts', 'list', '--state', 'sleeping']), 1, /invalid --state "sleeping": expected enrolled, not-enrolled, locked/);
    assertFailure(await cli.run(['accounts', 'list', '--format', 'xml']), 1, /invalid --format "xml": expected table, csv, json/);
    assertFailure(await cli.run(['accounts', 'list', '--format', 'csv', '--json']), 2, /--json and --format csv exclude each other/);
    assertFailure(await cli.run(['accounts', 'list', '--domain', 'bad domain']), 1, /invalid domain/);
  });

  it('quotes CSV fields', async () => {
    await cli.json(['passwd', 'o"neil,jr@example.org'], { input: 'x\n' });
    const result = await cli.run(['accounts', 'list', '--format', 'csv']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\r\n');
    assert.equal(lines[0], 'account,domain,class,policy,policy_source,enrolled,devices,app_passwords,recovery_codes_left,failed_codes,locked,in_passwd_file');
    assert.equal(lines[1], 'alice@example.org,example.org,,optional,global,no,0,0,0,0,no,yes');
    assert.equal(lines[2], '"o""neil,jr@example.org",example.org,,optional,global,no,0,0,0,0,no,yes');
    assert.equal(lines[3], '');
    assert.equal(lines.length, 4);
  });

  it('filters audit events', async () => {
    await cli.json(['passwd', 'bob@example.org'], { input: 'x\n' });
    await withInstallation((installation) => installation.context.store.increment(keys.secondFactorFailures(alice)));
    await cli.json(['unlock', alice]);

    type AuditJson = { events: { at: string; actor: string; action: string; account?: string }[] };
    const all = await cli.json<AuditJson>(['audit']);
    assert.deepEqual(all.events.map((event) => [event.action, event.account]), [
      ['account-unlocked', alice],
      ['password-set', 'bob@example.org'],
      ['password-set', alice],
    ]);
    all.events.forEach((event) => assert.equal(event.actor, EXPECTED_ACTOR));
    assert.equal((await cli.json<AuditJson>(['audit', '--account', 'BOB@example.org'])).events.length, 1);
    assert.equal((await cli.json<AuditJson>(['audit', '--limit', '1'])).events[0].action, 'account-unlocked');
    assert.equal((await cli.json<AuditJson>(['audit', '--since', '1h'])).events.length, 3);
    assert.equal((await cli.json<AuditJson>(['audit', '--since', '2099-01-01'])).events.length, 0);

    const text = await cli.run(['audit', '--limit', '1']);
    assert.match(text.stdout, /^TIME\s+ACTOR\s+ACTION\s+ACCOUNT\s+IP\s+PROTOCOL\s+DETAIL\n\S+Z\s+cli:\S+\s+account-unlocked\s+alice@example.org/);

    assertFailure(await cli.run(['audit', '--since', 'yesterday']), 1, /invalid --since "yesterday": expected a duration like 7d/);
    assertFailure(await cli.run(['audit', '--limit', '0']), 1, /invalid --limit "0": expected a whole number from 1 to 10000/);
    assertFailure(await cli.run(['audit', '--limit', '5x']), 1, /invalid --limit/);
    assertFailure(await cli.run(['audit', '--account', 'nobody']), 1, /invalid account/);
  });
});
