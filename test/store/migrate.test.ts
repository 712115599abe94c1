import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createAppPassword, provisionSecretKey } from '../../src/core/accounts';
import { isTwoStepError } from '../../src/core/errors';
import { decideLogin } from '../../src/core/login';
import { openInstallation } from '../../src/installation';
import { migrateStore, type MigrationCounts } from '../../src/store/migrate';
import { RedisStore } from '../../src/store/redis';
import { SqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/types';
import { createTestInstallation, RFC_CODES, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { describeWithPrograms } from '../helpers/system';
import { REDIS_SERVER, startRedis, type RedisServer } from '../helpers/redis';

const ACCOUNT = 'alice@example.test';
const PASSWORD = 'correct horse battery';
const CLI = { actor: 'cli' };

describeWithPrograms('migrateStore', [REDIS_SERVER], function () {
  this.timeout(20_000);
  let server: RedisServer;
  let source: TestInstallation;
  let appPassword: string;
  const stores: Store[] = [];

  before(async () => {
    server = await startRedis();
  });

  after(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    source = await createTestInstallation();
    await source.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'PLAIN');
    await provisionSecretKey(source.context, CLI, ACCOUNT, RFC_KEY, 'Phone');
    appPassword = (await createAppPassword(source.context, CLI, ACCOUNT, 'Mail app', ['smtp', 'imap'])).appPassword;
    // Uses the code of the current step, so the copy must know that step is taken.
    const first = await decideLogin(source.context, { account: ACCOUNT, secret: `${PASSWORD}${RFC_CODES[37037036]}`, protocol: 'imap', ip: '127.0.0.1' });
    assert.equal(first.outcome, 'accepted');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await source.dispose();
  });

  let namespaces = 0;
  function redisStore(): RedisStore {
    namespaces += 1;
    const store = new RedisStore(server.url(`migrate${namespaces}`));
    stores.push(store);
    return store;
  }

  it('copies an installation from SQLite to Redis', async () => {
    const target = redisStore();
    const progress: MigrationCounts[] = [];
    const counts = await migrateStore(source.context.store, target, { batchSize: 2, onProgress: (current) => progress.push(current) });

    assert.ok(counts.values >= 3, `copied ${counts.values} values`);
    assert.equal(counts.steps, 1);
    assert.ok(counts.audit >= 3, `copied ${counts.audit} audit events`);
    assert.deepEqual(progress[progress.length - 1], counts);

    // The same data folder gives the same encryption key file and passwd file.
    const copy = await openInstallation({ configDir: join(source.home, 'config'), store: target, now: source.clock.now, env: { TWOSTEP_DATA_DIR: source.dataDir } });
    const login = (secret: string) => decideLogin(copy.context, { account: ACCOUNT, secret, protocol: 'imap', ip: '127.0.0.2' });
    assert.deepEqual(await login(appPassword), { outcome: 'accepted', account: ACCOUNT, method: 'app-password', appPasswordName: 'Mail app' });
    const replay = await login(`${PASSWORD}${RFC_CODES[37037036]}`);
    assert.equal(replay.outcome, 'rejected', 'the claimed step was copied');
    source.clock.advanceSeconds(30);
    assert.equal((await login(`${PASSWORD}${RFC_CODES[37037037]}`)).outcome, 'accepted');
    assert.deepEqual(await target.listAudit({ account: ACCOUNT, limit: 50 }).then((events) => events.length > 0), true);
  });

  it('copies back from Redis to SQLite', async () => {
    const middle = redisStore();
    await migrateStore(source.context.store, middle);
    const back = new SqliteStore(join(source.home, 'back.sqlite'));
    stores.push(back);
    await migrateStore(middle, back);

    assert.deepEqual((await back.listKeys('')).sort(), (await source.context.store.listKeys('')).sort());
    assert.deepEqual(await back.get(`account:${ACCOUNT}`), await source.context.store.get(`account:${ACCOUNT}`));
    assert.deepEqual(await back.listAudit({ limit: 1000 }), await source.context.store.listAudit({ limit: 1000 }));
  });

  it('refuses a target that holds records', async () => {
    const target = redisStore();
    await target.set('account:someone@example.test', { kept: true });
    await assert.rejects(migrateStore(source.context.store, target), (error: unknown) => isTwoStepError(error, 'ERR_CONFLICT') && /--force/.test((error as Error).message));
    assert.deepEqual(await target.listKeys(''), ['account:someone@example.test']);

    await migrateStore(source.context.store, target, { force: true });
    assert.deepEqual(await target.get('account:someone@example.test'), { kept: true });
    assert.ok((await target.listKeys('account:')).includes(`account:${ACCOUNT}`));
  });

  it('refuses to copy a store onto itself', async () => {
    await assert.rejects(migrateStore(source.context.store, source.context.store, { force: true }), (error: unknown) => isTwoStepError(error, 'ERR_INVALID_INPUT'));
  });
});
