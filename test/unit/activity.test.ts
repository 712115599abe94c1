import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityWriter } from '../../src/core/activity';
import { getAccountStatus, provisionSecretKey } from '../../src/core/accounts';
import { decideLogin } from '../../src/core/login';
import { SqliteStore } from '../../src/store/sqlite';
import type { Store, StoreWrite } from '../../src/store/types';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';

const ACCOUNT = 'alice@example.org';
const PASSWORD = 'Winter2024';

function lastUse(key: string, ip: string): StoreWrite {
  return { type: 'set', key, value: { at: 1, ip, protocol: 'smtp' } };
}

const LOGIN: StoreWrite = { type: 'audit', event: { at: 1, actor: ACCOUNT, action: 'login', account: ACCOUNT, protocol: 'smtp', detail: 'app-password' } };

function tick(milliseconds = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

describe('ActivityWriter', () => {
  let folder: string;
  let store: SqliteStore;
  const failures: Array<[string, number]> = [];
  const onFailure = (error: unknown, lost: number) => failures.push([(error as Error).message, lost]);

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-activity-'));
    store = new SqliteStore(join(folder, 'store.sqlite'));
    failures.length = 0;
  });

  afterEach(async () => {
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('writes one batch after the delay', async () => {
    const writer = new ActivityWriter(store, 40, onFailure);
    writer.add([lastUse('use', '192.0.2.1'), LOGIN]);
    writer.add([lastUse('use', '192.0.2.2'), LOGIN]);
    await tick();
    assert.equal(await store.get('use'), undefined, 'nothing is written before the delay');
    await tick(120);
    assert.deepEqual(await store.get('use'), { at: 1, ip: '192.0.2.2', protocol: 'smtp' }, 'the later value of a key wins');
    assert.equal((await store.listAudit({})).length, 2, 'every audit event is kept');
    assert.deepEqual(failures, []);
  });

  it('flush writes at once', async () => {
    const writer = new ActivityWriter(store, 60_000, onFailure);
    await writer.flush();
    assert.equal(await store.isEmpty(), true);
    writer.add([LOGIN]);
    await writer.flush();
    assert.equal((await store.listAudit({})).length, 1);
  });

  it('writes early when many wait', async () => {
    const writer = new ActivityWriter(store, 60_000, onFailure);
    writer.add(Array.from({ length: 1000 }, () => LOGIN));
    await tick(50);
    assert.equal((await store.listAudit({ limit: 2000 })).length, 1000);
  });

  it('reports a lost batch and recovers', async () => {
    let down = true;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'writeMany' && down) {
          return () => Promise.reject(new Error('disk I/O error'));
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) as Store;
    const writer = new ActivityWriter(flaky, 60_000, onFailure);
    writer.add([LOGIN, lastUse('use', '192.0.2.1')]);
    await writer.flush();
    assert.deepEqual(failures, [['disk I/O error', 2]]);
    down = false;
    writer.add([LOGIN]);
    await writer.flush();
    assert.equal((await store.listAudit({})).length, 1, 'the lost batch is not retried; the next one lands');
  });
});

describe('login activity with a batch writer', () => {
  let installation: TestInstallation;

  beforeEach(async () => {
    installation = await createTestInstallation();
    await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'PLAIN');
    await provisionSecretKey(installation.context, { actor: 'cli:test' }, ACCOUNT, RFC_KEY);
  });

  afterEach(async () => {
    await installation.dispose();
  });

  it('code login defers only activity', async () => {
    const activity = new ActivityWriter(installation.context.store, 60_000, () => undefined);
    const context = { ...installation.context, activity };
    const request = { account: ACCOUNT, secret: `${PASSWORD}081804`, protocol: 'smtp' as const, ip: '192.0.2.9' };

    const first = await decideLogin(context, request);
    assert.equal(first.outcome === 'accepted' && first.method, 'password+code');
    // The grant is in the store already: the same credential again is a grant, not a replay.
    const again = await decideLogin(context, request);
    assert.equal(again.outcome === 'accepted' && again.method, 'grant');
    const before = await getAccountStatus(installation.context, ACCOUNT);
    assert.equal(before.devices[0].lastUse, undefined, 'last use waits for the batch');

    await activity.flush();
    const after = await getAccountStatus(installation.context, ACCOUNT);
    assert.deepEqual(after.devices[0].lastUse, { at: installation.clock.milliseconds, ip: '192.0.2.9', protocol: 'smtp' });
    const audit = await installation.context.store.listAudit({ account: ACCOUNT });
    assert.equal(audit.filter((event) => event.action === 'login').length, 1);
  });

  it('close writes waiting activity', async () => {
    const { openInstallation } = await import('../../src/installation');
    const served = await openInstallation({
      configDir: join(installation.home, 'config'),
      env: { TWOSTEP_DATA_DIR: installation.dataDir },
      now: installation.clock.now,
      batchActivity: true,
    });
    assert.ok(served.context.activity, 'a serving process batches activity');
    const decision = await decideLogin(served.context, { account: ACCOUNT, secret: `${PASSWORD}081804`, protocol: 'imap', ip: '192.0.2.10' });
    assert.equal(decision.outcome, 'accepted');
    await served.close();
    const status = await getAccountStatus(installation.context, ACCOUNT);
    assert.equal(status.devices[0].lastUse?.ip, '192.0.2.10');
  });
});
