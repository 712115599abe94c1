import assert from 'node:assert/strict';
import { isTwoStepError } from '../../src/core/errors';
import { openStore } from '../../src/store';
import { RedisStore, parseRedisUrl } from '../../src/store/redis';
import { describeWithPrograms } from '../helpers/system';
import { freePort } from '../helpers/ports';
import { REDIS_SERVER, startRedis, type RedisServer } from '../helpers/redis';
import { defineStoreContract } from './contract';

describeWithPrograms('Redis store contract', [REDIS_SERVER], function () {
  this.timeout(20_000);
  let server: RedisServer;
  let namespaces = 0;

  before(async () => {
    server = await startRedis();
  });

  after(async () => {
    await server?.stop();
  });

  defineStoreContract({
    faultBudgetMs: 1500,
    async create() {
      // A fresh namespace per test: the tests share one server, as installations may.
      namespaces += 1;
      return new RedisStore(`${server.url(`contract${namespaces}`)}&timeout=500`);
    },
    async createBroken() {
      const doomed = await startRedis();
      const store = new RedisStore(`${doomed.url()}?timeout=500`);
      await store.set('before', 1);
      await doomed.stop();
      return store;
    },
  });

  describe('Redis specifics', () => {
    it('namespaces keep installations apart', async () => {
      const first = new RedisStore(server.url('install-a'));
      const second = new RedisStore(server.url('install-b'));
      try {
        await first.set('account:a@example.test', 'first');
        await first.claimStep('a:d', 10);
        await first.increment('count');
        assert.equal(await second.get('account:a@example.test'), undefined);
        assert.equal(await second.claimStep('a:d', 10), true);
        assert.equal(await second.readCounter('count'), 0);
        assert.deepEqual(await second.listKeys(''), []);
        assert.equal(await second.isEmpty(), false);
        assert.equal(await new RedisStore(server.url('install-c')).isEmpty(), true);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('two clients see each other at once', async () => {
      const first = new RedisStore(server.url('shared'));
      const second = new RedisStore(server.url('shared'));
      try {
        const claims = await Promise.all([first.claimStep('a:d', 7), second.claimStep('a:d', 7), first.claimStep('a:d', 7), second.claimStep('a:d', 7)]);
        assert.equal(claims.filter(Boolean).length, 1);
        await Promise.all([...Array.from({ length: 30 }, () => first.increment('n')), ...Array.from({ length: 30 }, () => second.increment('n'))]);
        assert.equal(await first.readCounter('n'), 60);
        await first.set('account:x', { v: 1 });
        assert.deepEqual(await second.get('account:x'), { v: 1 });
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('a server that never answered fails fast', async () => {
      const port = await freePort();
      const store = new RedisStore(`redis://127.0.0.1:${port}?timeout=300`);
      try {
        const started = Date.now();
        await assert.rejects(store.get('key'), (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'));
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      } finally {
        await store.close();
      }
    });

    it('reconnects after the server comes back', async () => {
      const doomed = await startRedis();
      const store = new RedisStore(`${doomed.url()}?timeout=500`);
      let again: RedisServer | undefined;
      try {
        await store.set('key', 1);
        await doomed.stop();
        await assert.rejects(store.get('key'), (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'));
        again = await startRedis(doomed.port);
        let value: unknown;
        for (let attempt = 0; attempt < 40 && value === undefined; attempt++) {
          value = await store.set('key', 2).then(() => store.get('key'), () => undefined);
          if (value === undefined) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        assert.equal(value, 2);
      } finally {
        await store.close();
        await again?.stop();
      }
    });

    it('a stalled server times out', async () => {
      const stalled = await startRedis();
      const store = new RedisStore(`${stalled.url()}?timeout=300`);
      try {
        await store.set('key', 1);
        process.kill(stalled.pid, 'SIGSTOP');
        const started = Date.now();
        await assert.rejects(store.claimStep('a:d', 1), (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'));
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      } finally {
        process.kill(stalled.pid, 'SIGCONT');
        await store.close();
        await stalled.stop();
      }
    });

    it('openStore selects Redis for redis:// URLs', async () => {
      const store = openStore(server.url('open'), '/nonexistent');
      try {
        assert.equal(store.kind, 'redis');
        await store.set('k', 'v');
        assert.equal(await store.get('k'), 'v');
      } finally {
        await store.close();
      }
    });

    it('rejects malformed URLs with the reason', () => {
      assert.throws(() => parseRedisUrl('redis://127.0.0.1:6379?namespace=a:b'), /invalid Redis namespace "a:b"/);
      assert.throws(() => parseRedisUrl('redis://127.0.0.1:6379?timeout=soon'), /invalid Redis timeout soon/);
      assert.throws(() => parseRedisUrl('redis://127.0.0.1:6379?db=2'), /invalid Redis URL option "db"/);
      assert.throws(() => parseRedisUrl('redis://user:secret@[bad'), (error: Error) => !error.message.includes('secret'));
      assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/2?namespace=mail1&timeout=800'), { url: 'redis://127.0.0.1:6379/2', namespace: 'mail1', timeoutMs: 800 });
    });
  });
});
