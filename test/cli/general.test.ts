import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertFailure, CliHome, CLI_PATH } from './cli-runner';

/** Every leaf command, to check that each has --help and accepts --json. */
const LEAF_COMMANDS = [
  ['passwd'],
  ['secret', 'set'],
  ['secret', 'reset'],
  ['code'],
  ['devices', 'list'],
  ['devices', 'revoke'],
  ['policy', 'set'],
  ['policy', 'show'],
  ['app-password', 'add'],
  ['app-password', 'list'],
  ['app-password', 'revoke'],
  ['recovery-codes'],
  ['status'],
  ['unlock'],
  ['class', 'create'],
  ['class', 'delete'],
  ['class', 'list'],
  ['class', 'assign'],
  ['class', 'unassign'],
  ['domain', 'add'],
  ['domain', 'list'],
  ['domain', 'remove'],
  ['accounts', 'list'],
  ['audit'],
];

describe('cli: general behaviour', function () {
  let cli: CliHome;

  beforeEach(() => {
    cli = new CliHome();
  });

  afterEach(() => {
    cli.remove();
  });

  it('runs as an executable file', async () => {
    // npx and a global install run the file itself through its #! line, not `node FILE`.
    const { stdout } = await promisify(execFile)(CLI_PATH, ['--help'], { env: { ...process.env, TWOSTEP_HOME: cli.home } });
    assert.match(stdout, /Usage: twostep/);
  });

  it('lists every command group in --help', async () => {
    const result = await cli.run(['--help']);
    assert.equal(result.code, 0);
    for (const group of ['passwd', 'secret', 'code', 'devices', 'policy', 'app-password', 'recovery-codes', 'status', 'unlock', 'class', 'domain', 'accounts', 'audit']) {
      assert.match(result.stdout, new RegExp(`\\n  ${group}\\b`), group);
    }
  });

  it('gives every command --help and --json', async () => {
    const results = await Promise.all(LEAF_COMMANDS.map((words) => cli.run([...words, '--help'])));
    results.forEach((result, index) => {
      const name = LEAF_COMMANDS[index].join(' ');
      assert.equal(result.code, 0, name);
      assert.match(result.stdout, new RegExp(`Usage: twostep ${name}`), name);
      assert.match(result.stdout, /--json/, name);
      assert.match(result.stdout, /--config <dir>/, name);
    });
  });

  it('exits 2 on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['stauts', 'a@example.org'], /unknown command 'stauts'.*status/],
      [['status'], /missing required argument 'account'/],
      [['status', 'a@example.org', 'extra'], /too many arguments/],
      [['domain', 'list', '--bogus'], /unknown option '--bogus'/],
      [['app-password', 'add', 'a@example.org', '--name', 'x'], /required option '--scope/],
      [['policy', 'set', 'mandatory'], /exactly one of --global, --domain, --class, --account/],
      [['policy', 'set', 'mandatory', '--global', '--domain', 'example.org'], /exactly one of/],
    ];
    for (const [args, pattern] of cases) {
      assertFailure(await cli.run(args), 2, pattern);
    }
  });

  it('accepts global options after the command', async () => {
    const result = await cli.run(['domain', 'list', '--config', cli.configDir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { domains: [] });
  });

  it('uses TWOSTEP_HOME/config by default', async () => {
    await cli.json(['domain', 'add', 'example.org']);
    assert.ok(existsSync(join(cli.home, 'twostep-data', 'store.sqlite')));
  });

  it('uses the --config folder when given', async () => {
    const other = new CliHome();
    try {
      await cli.json(['domain', 'add', 'other.example', '--config', other.configDir]);
      assert.deepEqual((await other.json<{ domains: { domain: string }[] }>(['domain', 'list'])).domains.map((entry) => entry.domain), ['other.example']);
      assert.deepEqual((await cli.json<{ domains: unknown[] }>(['domain', 'list'])).domains, []);
    } finally {
      other.remove();
    }
  });

  it('exits 78 for a missing config folder', async () => {
    assertFailure(await cli.run(['domain', 'list', '--config', join(cli.home, 'nope')]), 78, /config folder .*nope not found/);
    assert.equal(existsSync(join(cli.home, 'twostep-data')), false, 'nothing created');
    assertFailure(await cli.run(['domain', 'list'], { env: { TWOSTEP_HOME: join(cli.home, 'missing') } }), 78, /no TwoStep installation at .*missing/);
  });

  it('exits 78 for an invalid twostep.ini', async () => {
    writeFileSync(join(cli.configDir, 'twostep.ini'), '[totp]\nwindow = 99\n');
    assertFailure(await cli.run(['domain', 'list']), 78, /invalid twostep.ini \[totp\] window = 99/);
  });

  it('warns of misspelt twostep.ini settings', async () => {
    writeFileSync(join(cli.configDir, 'twostep.ini'), '[totp]\nwindw = 2\n');
    const result = await cli.run(['domain', 'list']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^twostep: warning: twostep\.ini has settings that TwoStep does not read, check their spelling: \[totp\] windw$/m);
  });

  it('exits 78 for an invalid global policy', async () => {
    writeFileSync(join(cli.configDir, 'twostep.ini'), '[policy]\nglobal = mandtory\n');
    assertFailure(await cli.run(['domain', 'list']), 78, /invalid twostep.ini \[policy\] global = mandtory: expected disabled, optional or mandatory$/m);
    writeFileSync(join(cli.configDir, 'twostep.ini'), '[policy]\nglobal = inherit\n');
    assertFailure(await cli.run(['domain', 'list']), 78, /invalid twostep.ini \[policy\] global = inherit: expected disabled, optional or mandatory$/m);
  });

  it('exits 78 for an invalid encryption key', async () => {
    assertFailure(await cli.run(['domain', 'list'], { env: { TWOSTEP_ENCRYPTION_KEY: 'too-short' } }), 78, /invalid encryption key in TWOSTEP_ENCRYPTION_KEY/);
  });

  it('exits 78 for a wrong encryption key', async () => {
    await cli.json(['domain', 'add', 'example.org']);
    const otherKey = Buffer.alloc(32, 7).toString('base64');
    assertFailure(await cli.run(['domain', 'list'], { env: { TWOSTEP_ENCRYPTION_KEY: otherKey } }), 78, /wrong encryption key/);
  });

  it('exits 75 when the store is unavailable', async () => {
    // A folder where the SQLite file should be cannot be opened as a database.
    const folder = join(cli.home, 'store-is-a-folder');
    mkdirSync(folder);
    writeFileSync(join(cli.configDir, 'twostep.ini'), `[store]\nurl = sqlite://${folder}\n`);
    assertFailure(await cli.run(['domain', 'list']), 75, /store .*failed.*try again later/);
  });

  it('exits promptly after a command', async () => {
    const result = await cli.run(['domain', 'list']);
    assert.equal(result.code, 0);
    // haraka-config watches the ini files; without an explicit exit the process would stay up.
    assert.ok(result.durationMs < 10_000, `took ${result.durationMs} ms`);
  });
});
