import assert from 'node:assert/strict';
import { isTwoStepError } from '../../src/core/errors';
import type { AuditEvent, Store, StoreEntry, StoreWrite } from '../../src/store/types';

export interface ContractSubject {
  /** Opens a new, empty store. */
  create(): Promise<Store>;
  /** Opens a store whose backend has failed (server stopped, file unusable). */
  createBroken(): Promise<Store>;
  /** Longest time a failing call may take before it rejects. */
  readonly faultBudgetMs: number;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function collect(store: Store): Promise<StoreEntry[]> {
  const entries: StoreEntry[] = [];
  for await (const batch of store.exportEntries(7)) {
    entries.push(...batch);
  }
  return entries;
}

function sortedValues(entries: StoreEntry[]): StoreEntry[] {
  return entries.filter((entry) => entry.type !== 'audit').sort((a, b) => `${a.type}:${'key' in a ? a.key : ''}`.localeCompare(`${b.type}:${'key' in b ? b.key : ''}`));
}

/**
 * The behaviour every Store backend must show. Each backend's test file calls this with a
 * factory; the same checks then run against SQLite and a real Redis server.
 */
export function defineStoreContract(subject: ContractSubject): void {
  let store: Store;
  const opened: Store[] = [];

  async function open(): Promise<Store> {
    const created = await subject.create();
    opened.push(created);
    return created;
  }

  beforeEach(async () => {
    store = await open();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((each) => each.close()));
  });

  describe('values', () => {
    it('round-trips JSON values', async () => {
      const value = { name: 'Phone ✓', nested: { list: [1, 'two', null, true] }, count: 3.5 };
      await store.set('account:alice@example.test', value);
      await store.set('text', 'plain "string"');
      await store.set('number', 42);

      assert.deepEqual(await store.get('account:alice@example.test'), value);
      assert.equal(await store.get('text'), 'plain "string"');
      assert.equal(await store.get('number'), 42);
    });

    it('reports a missing key as undefined', async () => {
      assert.equal(await store.get('missing'), undefined);
    });

    it('getMany keeps the order of the keys', async () => {
      await store.set('a', 1);
      await store.set('c', 3);
      assert.deepEqual(await store.getMany(['c', 'missing', 'a']), [3, undefined, 1]);
      assert.deepEqual(await store.getMany([]), []);
    });

    it('delete says whether the key existed', async () => {
      await store.set('gone', { x: 1 });
      assert.equal(await store.delete('gone'), true);
      assert.equal(await store.delete('gone'), false);
      assert.equal(await store.get('gone'), undefined);
    });

    it('a value with a TTL expires', async () => {
      await store.set('short', 'lived', 60);
      await store.set('long', 'lived', 60_000);
      assert.equal(await store.get('short'), 'lived');
      await sleep(120);
      assert.equal(await store.get('short'), undefined);
      assert.equal(await store.get('long'), 'lived');
    });
  });

  describe('update', () => {
    it('creates, changes and deletes a value', async () => {
      assert.deepEqual(await store.update<{ n: number }>('record', (current) => ({ n: (current?.n ?? 0) + 1 })), { n: 1 });
      assert.deepEqual(await store.update<{ n: number }>('record', (current) => ({ n: (current?.n ?? 0) + 1 })), { n: 2 });
      assert.deepEqual(await store.get('record'), { n: 2 });

      assert.equal(await store.update('record', () => undefined), undefined);
      assert.equal(await store.get('record'), undefined);
    });

    it('leaves an absent key absent when mutate returns undefined', async () => {
      let seen: unknown = 'not called';
      assert.equal(await store.update('absent', (current) => ((seen = current), undefined)), undefined);
      assert.equal(seen, undefined);
      assert.equal(await store.get('absent'), undefined);
    });

    it('a value written by set can be updated', async () => {
      await store.set('record', { list: ['a'] });
      await store.update<{ list: string[] }>('record', (current) => ({ list: [...(current?.list ?? []), 'b'] }));
      assert.deepEqual(await store.get('record'), { list: ['a', 'b'] });
    });

    it('parallel updates lose nothing', async () => {
      const writers = 25;
      await Promise.all(
        Array.from({ length: writers }, (_, index) =>
          store.update<{ items: number[] }>('shared', (current) => ({ items: [...(current?.items ?? []), index] })),
        ),
      );
      const result = await store.get<{ items: number[] }>('shared');
      assert.equal(result?.items.length, writers);
      assert.deepEqual([...result!.items].sort((a, b) => a - b), Array.from({ length: writers }, (_, index) => index));
    });

    it('an exception in mutate writes nothing', async () => {
      await store.set('record', { n: 1 });
      await assert.rejects(
        store.update('record', () => {
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.deepEqual(await store.get('record'), { n: 1 });
    });
  });

  describe('claimStep', () => {
    it('accepts only later steps', async () => {
      assert.equal(await store.claimStep('alice:device', 100), true);
      assert.equal(await store.claimStep('alice:device', 100), false, 'same step is a replay');
      assert.equal(await store.claimStep('alice:device', 99), false, 'earlier step is a replay');
      assert.equal(await store.claimStep('alice:device', 101), true);
      assert.equal(await store.claimStep('bob:device', 100), true, 'another device is independent');
    });

    it('exactly one of many parallel claims wins', async () => {
      const results = await Promise.all(Array.from({ length: 40 }, () => store.claimStep('race:device', 5000)));
      assert.equal(results.filter(Boolean).length, 1);
    });
  });

  describe('counters', () => {
    it('increment, read and reset a counter', async () => {
      assert.equal(await store.readCounter('failures'), 0);
      assert.equal(await store.increment('failures'), 1);
      assert.equal(await store.increment('failures'), 2);
      assert.equal(await store.readCounter('failures'), 2);
      await store.resetCounter('failures');
      assert.equal(await store.readCounter('failures'), 0);
      assert.equal(await store.increment('failures'), 1);
    });

    it('parallel increments count exactly', async () => {
      const results = await Promise.all(Array.from({ length: 100 }, () => store.increment('busy', 60_000)));
      assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 100 }, (_, index) => index + 1));
      assert.equal(await store.readCounter('busy'), 100);
    });

    it('a counter window restarts at 1', async () => {
      assert.equal(await store.increment('window', 80), 1);
      assert.equal(await store.increment('window', 80), 2);
      await sleep(150);
      assert.equal(await store.readCounter('window'), 0);
      assert.equal(await store.increment('window', 80), 1);
    });

    it('a counter without TTL keeps counting', async () => {
      await store.increment('forever');
      await sleep(50);
      assert.equal(await store.increment('forever'), 2);
    });
  });

  describe('readMany', () => {
    it('reads values and counters in order', async () => {
      await store.set('a', { n: 1 });
      await store.set('brief', 'x', 50);
      await store.increment('failures');
      await store.increment('failures');
      await store.increment('window', 50);
      await sleep(120);
      assert.deepEqual(await store.readMany(['missing', 'a', 'brief'], ['window', 'failures', 'none']), {
        values: [undefined, { n: 1 }, undefined],
        counters: [0, 2, 0],
      });
      assert.deepEqual(await store.readMany([], []), { values: [], counters: [] });
    });
  });

  describe('writeMany', () => {
    it('applies every kind of write', async () => {
      await store.set('old', 1);
      await store.increment('failures');
      await store.writeMany([
        { type: 'set', key: 'kept', value: { n: 1 } },
        { type: 'set', key: 'brief', value: 'x', ttlMs: 80 },
        { type: 'set', key: 'old', value: 2 },
        { type: 'reset-counter', key: 'failures' },
        { type: 'audit', event: { at: 7, actor: 'a@example.test', action: 'login', account: 'a@example.test', detail: 'password+code' } },
      ]);
      assert.deepEqual(await store.getMany(['kept', 'brief', 'old']), [{ n: 1 }, 'x', 2]);
      assert.equal(await store.readCounter('failures'), 0);
      assert.deepEqual(await store.listAudit({ account: 'a@example.test' }), [
        { at: 7, actor: 'a@example.test', action: 'login', account: 'a@example.test', detail: 'password+code' },
      ]);
      await sleep(150);
      assert.equal(await store.get('brief'), undefined);
      assert.deepEqual(await store.get('kept'), { n: 1 });
    });

    it('empty batch writes nothing', async () => {
      await store.writeMany([]);
      assert.equal(await store.isEmpty(), true);
    });
  });

  describe('attemptSecondFactor', () => {
    const audit = (detail: string): StoreWrite => ({ type: 'audit', event: { at: 1, actor: 'a@example.test', action: 'login', account: 'a@example.test', detail } });

    it('allows attempts up to the limit', async () => {
      const results = [];
      for (let i = 0; i < 4; i++) {
        results.push(await store.attemptSecondFactor({ counterKey: 'fails', limit: 3, count: true, onClaim: [] }));
      }
      assert.deepEqual(results, [
        { allowed: true, attempts: 1, claimed: false },
        { allowed: true, attempts: 2, claimed: false },
        { allowed: true, attempts: 3, claimed: false },
        { allowed: false, attempts: 4, claimed: false },
      ]);
      // Locked: a right code claims nothing and writes nothing.
      const locked = await store.attemptSecondFactor({ counterKey: 'fails', limit: 3, count: true, claim: { key: 'device', step: 10 }, onClaim: [audit('locked')] });
      assert.equal(locked.claimed, false);
      assert.equal(await store.claimStep('device', 10), true, 'the step was not used up');
      assert.deepEqual(await store.listAudit({}), []);
    });

    it('winning claim applies writes once', async () => {
      const attempt = {
        counterKey: 'fails',
        limit: 5,
        count: true,
        claim: { key: 'device', step: 42 },
        onClaim: [{ type: 'set', key: 'grant', value: 'g', ttlMs: 60_000 }, { type: 'reset-counter', key: 'fails' }, audit('password+code')] as StoreWrite[],
      };
      await store.increment('fails');
      assert.deepEqual(await store.attemptSecondFactor(attempt), { allowed: true, attempts: 2, claimed: true });
      assert.equal(await store.get('grant'), 'g');
      assert.equal(await store.readCounter('fails'), 0, 'the success reset the earlier failure');
      assert.deepEqual(await store.attemptSecondFactor(attempt), { allowed: true, attempts: 1, claimed: false });
      assert.equal(await store.readCounter('fails'), 1);
      assert.equal((await store.listAudit({})).length, 1);
    });

    it('uncounted attempt only reads', async () => {
      await store.increment('fails');
      await store.increment('fails');
      assert.deepEqual(await store.attemptSecondFactor({ counterKey: 'fails', limit: 3, count: false, onClaim: [] }), { allowed: true, claimed: false });
      await store.increment('fails');
      assert.deepEqual(await store.attemptSecondFactor({ counterKey: 'fails', limit: 3, count: false, claim: { key: 'd', step: 1 }, onClaim: [] }), { allowed: false, claimed: false });
      assert.equal(await store.readCounter('fails'), 3);
    });

    it('parallel attempts: one claim wins', async () => {
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.attemptSecondFactor({ counterKey: 'fails', limit: 5, count: true, claim: { key: 'device', step: 7 }, onClaim: [audit('won')] })),
      );
      assert.equal(results.filter((result) => result.claimed).length, 1);
      // The winner's success is not a failure; the 24 replays count, and only the first 5 are judged.
      assert.equal(results.filter((result) => result.allowed && !result.claimed).length, 5);
      assert.equal(await store.readCounter('fails'), 24);
      assert.equal((await store.listAudit({})).length, 1);
    });

    it('lost claim with its grant is not counted', async () => {
      const attempt = {
        counterKey: 'fails',
        limit: 2,
        count: true,
        claim: { key: 'device', step: 9 },
        onClaim: [{ type: 'set', key: 'grant:same', value: 'g', ttlMs: 60_000 }] as StoreWrite[],
        grantKey: 'grant:same',
      };
      assert.deepEqual(await store.attemptSecondFactor(attempt), { allowed: true, attempts: 1, claimed: true });
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await store.attemptSecondFactor(attempt), { allowed: true, claimed: false, granted: true });
      }
      assert.equal(await store.readCounter('fails'), 0);
      // Another credential has no grant: its lost claim counts as a replay.
      assert.deepEqual(await store.attemptSecondFactor({ ...attempt, grantKey: 'grant:other' }), { allowed: true, attempts: 1, claimed: false });
      assert.equal(await store.readCounter('fails'), 1);
    });

    it('parallel burst of one credential', async () => {
      const attempt = {
        counterKey: 'fails',
        limit: 2,
        count: true,
        claim: { key: 'device', step: 11 },
        onClaim: [{ type: 'set', key: 'grant:burst', value: 'g', ttlMs: 60_000 }] as StoreWrite[],
        grantKey: 'grant:burst',
      };
      const results = await Promise.all(Array.from({ length: 12 }, () => store.attemptSecondFactor(attempt)));
      assert.equal(results.filter((result) => result.claimed).length, 1);
      assert.equal(results.filter((result) => result.granted).length, 11);
      assert.equal(await store.readCounter('fails'), 0);
    });

    it('parallel wrong codes stop at limit', async () => {
      const results = await Promise.all(Array.from({ length: 25 }, () => store.attemptSecondFactor({ counterKey: 'fails', limit: 5, count: true, onClaim: [] })));
      assert.equal(results.filter((result) => result.allowed).length, 5);
      assert.deepEqual(results.map((result) => result.attempts).sort((a, b) => a! - b!), Array.from({ length: 25 }, (_, index) => index + 1));
    });
  });

  describe('listKeys', () => {
    it('lists keys under a prefix only', async () => {
      await store.set('account:a@example.test', 1);
      await store.set('account:b@example.test', 2);
      await store.set('domain:example.test', 3);
      await store.increment('account:not-a-value');
      assert.deepEqual((await store.listKeys('account:')).sort(), ['account:a@example.test', 'account:b@example.test']);
      assert.deepEqual(await store.listKeys('class:'), []);
      assert.equal((await store.listKeys('')).length, 3);
    });

    it('treats pattern characters literally', async () => {
      await store.set('odd:a_b%c*d?[e]\\f', 1);
      await store.set('odd:aXbYc', 2);
      assert.deepEqual(await store.listKeys('odd:a_b%c*d?[e]\\'), ['odd:a_b%c*d?[e]\\f']);
      assert.deepEqual(await store.listKeys('odd:a_'), ['odd:a_b%c*d?[e]\\f']);
    });
  });

  describe('audit', () => {
    const events: AuditEvent[] = [
      { at: 1000, actor: 'alice@example.test', action: 'device-added', account: 'alice@example.test', detail: 'Phone' },
      { at: 2000, actor: 'admin@example.test', action: 'domain-added', ip: '127.0.0.1', detail: 'example.test' },
      { at: 3000, actor: 'bob@example.test', action: 'login', account: 'bob@example.test', ip: '127.0.0.2', protocol: 'smtp', detail: 'app-password' },
      { at: 4000, actor: 'system', action: 'second-factor-locked', account: 'alice@example.test', protocol: 'imap' },
    ];

    beforeEach(async () => {
      for (const event of events) {
        await store.appendAudit(event);
      }
    });

    it('lists events newest first', async () => {
      assert.deepEqual(await store.listAudit({}), [...events].reverse());
    });

    it('filters by account, time and limit', async () => {
      assert.deepEqual(await store.listAudit({ account: 'alice@example.test' }), [events[3], events[0]]);
      assert.deepEqual(await store.listAudit({ since: 2000 }), [events[3], events[2], events[1]]);
      assert.deepEqual(await store.listAudit({ limit: 2 }), [events[3], events[2]]);
      assert.deepEqual(await store.listAudit({ account: 'alice@example.test', since: 2000, limit: 5 }), [events[3]]);
      assert.deepEqual(await store.listAudit({ account: 'nobody@example.test' }), []);
    });
  });

  describe('export and import', () => {
    it('copies every kind of record', async () => {
      assert.equal(await store.isEmpty(), true);
      await store.set('account:a@example.test', { devices: [{ id: 'd1' }] });
      await store.set('grant:abc', { account: 'a@example.test' }, 60_000);
      await store.claimStep('a@example.test:d1', 1234);
      await store.increment('second-factor-failures:a@example.test');
      await store.increment('password-failures-ip:127.0.0.1', 60_000);
      await store.appendAudit({ at: 1, actor: 'cli', action: 'device-added', account: 'a@example.test' });
      await store.appendAudit({ at: 2, actor: 'cli', action: 'domain-added', detail: 'example.test' });
      assert.equal(await store.isEmpty(), false);

      const exported = await collect(store);
      const target = await open();
      for (let start = 0; start < exported.length; start += 3) {
        await target.importEntries(exported.slice(start, start + 3));
      }

      assert.deepEqual(await target.get('account:a@example.test'), { devices: [{ id: 'd1' }] });
      assert.deepEqual(await target.get('grant:abc'), { account: 'a@example.test' });
      assert.equal(await target.claimStep('a@example.test:d1', 1234), false, 'the claim was copied');
      assert.equal(await target.readCounter('second-factor-failures:a@example.test'), 1);
      assert.equal(await target.readCounter('password-failures-ip:127.0.0.1'), 1);
      assert.deepEqual(await target.listAudit({}), await store.listAudit({}));
      assert.deepEqual(sortedValues(await collect(target)).map((entry) => entry.type), ['counter', 'counter', 'step', 'value', 'value']);
    });

    it('skips expired records on import', async () => {
      await store.importEntries([
        { type: 'value', key: 'grant:old', value: 1, expiresAt: Date.now() - 1 },
        { type: 'counter', key: 'old-counter', count: 3, expiresAt: Date.now() - 1 },
        { type: 'value', key: 'grant:new', value: 2, expiresAt: Date.now() + 60_000 },
      ]);
      assert.equal(await store.get('grant:old'), undefined);
      assert.equal(await store.readCounter('old-counter'), 0);
      assert.equal(await store.get('grant:new'), 2);
    });
  });

  describe('faults', () => {
    it('every call rejects with ERR_STORE_UNAVAILABLE', async () => {
      const broken = await subject.createBroken();
      opened.push(broken);
      const calls: [string, () => Promise<unknown>][] = [
        ['get', () => broken.get('key')],
        ['getMany', () => broken.getMany(['a', 'b'])],
        ['readMany', () => broken.readMany(['a'], ['b'])],
        ['set', () => broken.set('key', 1)],
        ['delete', () => broken.delete('key')],
        ['update', () => broken.update('key', () => 1)],
        ['claimStep', () => broken.claimStep('key', 1)],
        ['increment', () => broken.increment('key', 1000)],
        ['readCounter', () => broken.readCounter('key')],
        ['resetCounter', () => broken.resetCounter('key')],
        ['listKeys', () => broken.listKeys('')],
        ['appendAudit', () => broken.appendAudit({ at: 1, actor: 'cli', action: 'test' })],
        ['writeMany', () => broken.writeMany([{ type: 'set', key: 'key', value: 1 }])],
        ['attemptSecondFactor', () => broken.attemptSecondFactor({ counterKey: 'key', limit: 1, count: true, claim: { key: 'step', step: 1 }, onClaim: [] })],
        ['listAudit', () => broken.listAudit({})],
        ['isEmpty', () => broken.isEmpty()],
        ['importEntries', () => broken.importEntries([{ type: 'step', key: 'k', step: 1 }])],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        await assert.rejects(call(), (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'), `${name} must reject as unavailable`);
        assert.ok(Date.now() - started < subject.faultBudgetMs, `${name} took ${Date.now() - started} ms to fail`);
      }
    });
  });
}
