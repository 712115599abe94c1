import assert from 'node:assert/strict';
import { decideLogin, type LoginRequest } from '../../src/core/login';
import { provisionSecretKey } from '../../src/core/accounts';
import { keys } from '../../src/core/model';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';

const ALICE = 'alice@example.org';
const LOCKED = 'locked@example.org';
const PASSWORD = 'tr0ub4dor&three';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('reply timing of rejections', function () {
  this.timeout(120_000);
  let installation: TestInstallation;

  before(async () => {
    installation = await createTestInstallation();
    await installation.passwdFile!.setPassword(ALICE, PASSWORD, 'BLF-CRYPT');
    await installation.passwdFile!.setPassword(LOCKED, PASSWORD, 'BLF-CRYPT');
    await provisionSecretKey(installation.context, { actor: 'test' }, ALICE, RFC_KEY);
    await provisionSecretKey(installation.context, { actor: 'test' }, LOCKED, RFC_KEY);
    for (let i = 0; i < 10; i++) {
      await installation.context.store.increment(keys.secondFactorFailures(LOCKED));
    }
  });

  after(async () => {
    await installation.dispose();
  });

  it('bare, wrong, wrong-code, locked and unknown take comparable time', async () => {
    const cases: Record<string, (round: number) => LoginRequest> = {
      'correct bare password': () => ({ account: ALICE, secret: PASSWORD, protocol: 'imap', ip: '198.51.100.1' }),
      'wrong bare password': (round) => ({ account: ALICE, secret: `not-it-${round}`, protocol: 'imap', ip: '198.51.100.2' }),
      'wrong code': (round) => ({ account: ALICE, secret: `${PASSWORD}${String(100000 + round)}`, protocol: 'imap', ip: '198.51.100.3' }),
      'locked account': (round) => ({ account: LOCKED, secret: `${PASSWORD}${String(100000 + round)}`, protocol: 'imap', ip: '198.51.100.4' }),
      'unknown account': (round) => ({ account: 'nobody@example.org', secret: `${PASSWORD}${String(100000 + round)}`, protocol: 'imap', ip: '198.51.100.5' }),
    };
    const samples = new Map<string, number[]>(Object.keys(cases).map((name) => [name, []]));
    // Warm-up: the first check of each kind loads modules and builds the dummy hash.
    for (const build of Object.values(cases)) {
      await decideLogin(installation.context, build(-1));
    }
    for (let round = 0; round < 12; round++) {
      for (const [name, build] of Object.entries(cases)) {
        const start = process.hrtime.bigint();
        const decision = await decideLogin(installation.context, build(round));
        samples.get(name)!.push(Number(process.hrtime.bigint() - start) / 1e6);
        assert.equal(decision.outcome, 'rejected', name);
      }
    }
    const medians = [...samples].map(([name, values]) => [name, median(values)] as const);
    const fastest = Math.min(...medians.map(([, value]) => value));
    const slowest = Math.max(...medians.map(([, value]) => value));
    const report = medians.map(([name, value]) => `${name}: ${value.toFixed(1)} ms`).join(', ');
    // Every case runs one bcrypt check, so medians differ only by store writes and noise.
    assert.ok(slowest / fastest < 1.5, `median reply times differ too much: ${report}`);
    assert.ok(fastest > 20, `a case skipped the password check: ${report}`);
  });
});
