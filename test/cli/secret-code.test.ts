import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCode, parseOtpauthUri } from '../../src/core/totp';
import { RFC_KEY } from '../helpers/installation';
import { assertFailure, CliHome, EXPECTED_ACTOR } from './cli-runner';

interface StatusJson {
  enrolled: boolean;
  devices: { id: string; name: string }[];
}

/** The RFC 6238 SHA-256 seed (32 bytes of digits) in base32. */
const RFC_SHA256_KEY = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA';

describe('cli: secret and code', function () {
  let cli: CliHome;
  const account = 'alice@example.org';

  beforeEach(async () => {
    cli = new CliHome();
    await cli.json(['passwd', account], { input: 'Winter2024\n' });
  });

  afterEach(() => {
    cli.remove();
  });

  it('provisions a secret key as people type it', async () => {
    const result = await cli.json<{ account: string; device: { name: string } }>(['secret', 'set', account, 'gezd gnbv gy3t qojq gezd-gnbv-gy3t-qojq', '--name', 'Old token']);
    assert.equal(result.device.name, 'Old token');
    const status = await cli.json<StatusJson>(['status', account]);
    assert.equal(status.enrolled, true);
    assert.deepEqual(status.devices.map((device) => device.name), ['Old token']);
  });

  it('reads the secret key from stdin', async () => {
    const result = await cli.run(['secret', 'set', account, '-'], { input: `${RFC_KEY}\n` });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, new RegExp(RFC_KEY));
    assert.equal((await cli.json<StatusJson>(['status', account])).devices.length, 1);
  });

  it('rejects a bad key and adds no device', async () => {
    for (const key of ['GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ', 'GEZDGNBV', 'GEZDGNBVGY3TQOJQG']) {
      assertFailure(await cli.run(['secret', 'set', account, key]), 1, /invalid secret key: .*a secret key is base32 \(letters A-Z and digits 2-7\)/);
    }
    const status = await cli.json<StatusJson>(['status', account]);
    assert.equal(status.enrolled, false);
    assert.equal(status.devices.length, 0);
  });

  it('provisions an otpauth URI with its settings', async () => {
    const uri = `otpauth://totp/Old:${account}?secret=${RFC_SHA256_KEY}&issuer=Old&algorithm=SHA256&digits=8&period=60`;
    const result = await cli.json<{ device: { algorithm: string; digits: number; period: number } }>(['secret', 'set', account, uri]);
    assert.deepEqual([result.device.algorithm, result.device.digits, result.device.period], ['SHA256', 8, 60]);

    const before = Math.floor(Date.now() / 1000);
    const codeOutput = await cli.json<{ codes: { code: string }[] }>(['code', account]);
    const after = Math.floor(Date.now() / 1000);
    const settings = { algorithm: 'sha256', digits: 8, period: 60 } as const;
    const expected = [await generateCode(RFC_SHA256_KEY, before, settings), await generateCode(RFC_SHA256_KEY, after, settings)];
    assert.ok(expected.includes(codeOutput.codes[0].code), `${codeOutput.codes[0].code} is one of ${expected.join(', ')}`);
  });

  it('rejects malformed otpauth URIs clearly', async () => {
    const cases: [string, RegExp][] = [
      [`otpauth://totp/Old:${account}?issuer=Old&digits=6`, /^twostep: invalid otpauth URI: it has no secret parameter, expected otpauth:\/\/totp\/LABEL\?secret=KEY/],
      [`otpauth://totp/Old:${account}?secret=&issuer=Old`, /^twostep: invalid otpauth URI: the secret parameter is empty$/],
      [`otpauth://hotp/Old:${account}?secret=${RFC_KEY}&counter=0`, /^twostep: invalid otpauth URI: type hotp \(counter-based codes\) is not supported/],
      [`https://old.example.org/totp?secret=${RFC_KEY}`, /^twostep: invalid otpauth URI: the scheme is "https"/],
    ];
    for (const [uri, message] of cases) {
      const result = await cli.run(['secret', 'set', account, uri]);
      assertFailure(result, 1, message);
      assert.doesNotMatch(result.stderr, /invalid secret key/);
      assert.ok(!result.stderr.includes(RFC_KEY), `stderr shows the secret key: ${result.stderr}`);
    }
    assert.equal((await cli.json<StatusJson>(['status', account])).devices.length, 0);
  });

  it('options override the defaults', async () => {
    const result = await cli.json<{ device: { algorithm: string; digits: number; period: number } }>(['secret', 'set', account, RFC_KEY, '--algorithm', 'sha512', '--digits', '8']);
    assert.deepEqual([result.device.algorithm, result.device.digits, result.device.period], ['SHA512', 8, 30]);
  });

  it('rejects invalid TOTP settings', async () => {
    assertFailure(await cli.run(['secret', 'set', account, RFC_KEY, '--digits', '7']), 1, /invalid number of digits "7": expected 6 or 8/);
    assertFailure(await cli.run(['secret', 'set', account, RFC_KEY, '--algorithm', 'md5']), 1, /invalid TOTP algorithm "md5": expected SHA1, SHA256 or SHA512/);
    assertFailure(await cli.run(['secret', 'set', account, RFC_KEY, '--period', '5']), 1, /invalid time step "5": expected whole seconds from 15 to 120/);
    assert.equal((await cli.json<StatusJson>(['status', account])).devices.length, 0);
  });

  it('rejects a key the account has', async () => {
    await cli.json(['secret', 'set', account, RFC_KEY, '--name', 'First']);
    assertFailure(await cli.run(['secret', 'set', account, RFC_KEY.toLowerCase()]), 1, /already has this secret key on device "First"/);
    assertFailure(await cli.run(['secret', 'set', account, RFC_SHA256_KEY, '--digits', '8']), 1, /has devices with 6-digit codes/);
    assert.equal((await cli.json<StatusJson>(['status', account])).devices.length, 1);
  });

  it('names a missing passwd file', async () => {
    writeFileSync(join(cli.configDir, 'twostep.ini'), '[backend]\npasswd_file = /nonexistent-folder/passwd\n');
    assertFailure(
      await cli.run(['status', 'bob@example.org']),
      78,
      /account bob@example\.org not found: the passwd file \/nonexistent-folder\/passwd does not exist; fix \[backend\] passwd_file/,
    );
  });

  it('rejects an unknown account', async () => {
    assertFailure(await cli.run(['secret', 'set', 'alcie@example.org', RFC_KEY]), 1, /account alcie@example.org not found/);
    assertFailure(await cli.run(['secret', 'reset', 'alcie@example.org']), 1, /account alcie@example.org not found/);
    assertFailure(await cli.run(['status', 'alcie@example.org']), 1, /not found/);
  });

  it('resets the key with QR code and grouped key', async () => {
    await cli.json(['secret', 'set', account, RFC_KEY]);
    const result = await cli.run(['secret', 'reset', account, '--name', 'Phone']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^New secret key for ${account} on device "Phone"; it replaced 1 device of the account\\.$`, 'm'));
    const uri = /otpauth URI: (otpauth:\/\/\S+)/.exec(result.stdout)?.[1];
    assert.ok(uri, 'URI printed');
    const secret = parseOtpauthUri(uri).secret;
    assert.match(result.stdout, new RegExp(`Secret key:  ${secret.replace(/(.{4})(?=.)/g, '$1 ')}\\n`));
    assert.match(result.stdout, /[▀▄█]/, 'QR code drawn with block characters');
    // stdout is a pipe here, as when the output goes to a file or a mail, so it has no colour codes.
    assert.ok(!result.stdout.includes('\u001b['), 'ANSI escape sequences in piped output');
    const status = await cli.json<StatusJson>(['status', account]);
    assert.deepEqual(status.devices.map((device) => device.name), ['Phone'], 'old device replaced');
  });

  it('resets an account without a device', async () => {
    const result = await cli.run(['secret', 'reset', account, '--name', 'Phone']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^New secret key for ${account} on device "Phone"; 2-Step Verification is on\\.$`, 'm'));
    assert.doesNotMatch(result.stdout, /replaced/);
  });

  it('prints only URI and key for reset --json', async () => {
    const result = await cli.json<Record<string, string>>(['secret', 'reset', account]);
    assert.deepEqual(Object.keys(result).sort(), ['account', 'otpauthUri', 'secretKey']);
    const parsed = parseOtpauthUri(result.otpauthUri);
    assert.equal(parsed.secret, result.secretKey);
    assert.equal(parsed.account, account);
    assert.match(result.secretKey, /^[A-Z2-7]{32}$/);
  });

  it('prints the code the core computes', async () => {
    await cli.json(['secret', 'set', account, RFC_KEY, '--name', 'RFC']);
    const before = Math.floor(Date.now() / 1000);
    const result = await cli.json<{ codes: { device: string; code: string; secondsLeft: number }[] }>(['code', account]);
    const after = Math.floor(Date.now() / 1000);

    assert.equal(result.codes.length, 1);
    assert.equal(result.codes[0].device, 'RFC');
    // The run may cross a 30 s step boundary, so the code must match the step at its start or end.
    const expected = [await generateCode(RFC_KEY, before), await generateCode(RFC_KEY, after)];
    assert.ok(expected.includes(result.codes[0].code), `${result.codes[0].code} is one of ${expected.join(', ')}`);
    assert.ok(result.codes[0].secondsLeft >= 1, `seconds left ${result.codes[0].secondsLeft}`);
    assert.ok(result.codes[0].secondsLeft <= 30, `seconds left ${result.codes[0].secondsLeft}`);
  });

  it('shows the code in text with seconds left', async () => {
    await cli.json(['secret', 'set', account, RFC_KEY, '--name', 'RFC']);
    const result = await cli.run(['code', account]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^CODE\s+SECONDS LEFT\s+DEVICE\n\d{6}\s+\d{1,2}\s+RFC\n$/);
  });

  it('writes an audit event for code', async () => {
    await cli.json(['secret', 'set', account, RFC_KEY]);
    await cli.json(['code', account]);
    const installation = await cli.open();
    try {
      const events = await installation.context.store.listAudit({ account });
      assert.equal(events[0].action, 'code-viewed');
      assert.equal(events[0].actor, EXPECTED_ACTOR);
      assert.equal(events[1].action, 'secret-key-provisioned');
      assert.equal(events[1].actor, EXPECTED_ACTOR);
    } finally {
      await installation.close();
    }
  });

  it('fails code for an account without device', async () => {
    assertFailure(await cli.run(['code', account]), 1, /alice@example.org has no device/);
  });
});
