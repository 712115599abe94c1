import assert from 'node:assert/strict';
import { hashPassword, parseStoredPassword, verifyPasswordHash } from '../../src/backends/password-hash';

// Written by Dovecot 2.3 (`doveadm pw -s BLF-CRYPT -p 'pw-dovecot'`), which uses the $2y$ prefix.
const DOVECOT_BCRYPT = '{BLF-CRYPT}$2y$05$C4XcsbmpgWAcWBNIThoxgOMbKM4/hwTF6LZSxiV3iEoA/0yt0.YcO';
// Written by Dovecot 2.3 (`doveadm pw -s SHA512-CRYPT -p 'pw-dovecot-sha'`), 5000 rounds.
const DOVECOT_SHA512_CRYPT = '{SHA512-CRYPT}$6$BmPc7KljoJftsE1h$CIrC654Zn044fBTfNY1QUksIozskjjrdUNRz2zGMzAJtWHFOWluO09u5lZJnkLS5vtNmYu9fQQtaItzaqn8Yc.';

/** Runs `work` and returns the longest delay of a 5 ms timer meanwhile, in milliseconds. */
async function maxTimerLagMs(work: () => Promise<unknown>): Promise<number> {
  let maxLag = 0;
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - expected);
    expected = now + 5;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return maxLag;
}

describe('password hashes', () => {
  it('reads bcrypt hashes from Dovecot', async () => {
    const stored = parseStoredPassword(DOVECOT_BCRYPT);
    assert.equal(await verifyPasswordHash(stored, 'pw-dovecot'), true);
    assert.equal(await verifyPasswordHash(stored, 'pw-dovecot-not'), false);
  });

  it('writes bcrypt as $2y$ at cost 10', async () => {
    const field = await hashPassword('pw-new', 'BLF-CRYPT');
    assert.match(field, /^\{BLF-CRYPT\}\$2y\$10\$[./A-Za-z0-9]{53}$/);
    assert.equal(await verifyPasswordHash(parseStoredPassword(field), 'pw-new'), true);
  });

  it('rejects a malformed bcrypt hash', async () => {
    assert.equal(await verifyPasswordHash(parseStoredPassword('{BLF-CRYPT}$2y$10$short'), 'pw'), false);
  });

  it('checks bcrypt off the event loop', async function () {
    this.timeout(20_000);
    const stored = parseStoredPassword(await hashPassword('pw-busy', 'BLF-CRYPT'));
    // Four checks at cost 10 take 0.2 to 0.3 s of CPU. On the main thread they would hold
    // timers back for tens of milliseconds at a time.
    const lag = await maxTimerLagMs(() => Promise.all([1, 2, 3, 4].map(() => verifyPasswordHash(stored, 'pw-busy'))));
    assert.ok(lag < 50, `a timer waited ${lag.toFixed(0)} ms during the checks`);
  });

  it('reads SHA512-CRYPT hashes from Dovecot', async () => {
    const stored = parseStoredPassword(DOVECOT_SHA512_CRYPT);
    assert.equal(await verifyPasswordHash(stored, 'pw-dovecot-sha'), true);
    assert.equal(await verifyPasswordHash(stored, 'pw-dovecot'), false);
    // A bare crypt(3) field is recognised by its $6$ prefix.
    assert.equal(await verifyPasswordHash(parseStoredPassword(DOVECOT_SHA512_CRYPT.replace('{SHA512-CRYPT}', '')), 'pw-dovecot-sha'), true);
  });

  it('checks SHA512-CRYPT off the event loop', async function () {
    this.timeout(20_000);
    const stored = parseStoredPassword(DOVECOT_SHA512_CRYPT);
    // The first check starts the worker thread.
    await verifyPasswordHash(stored, 'pw-dovecot-sha');
    // Sixteen checks take 0.1 to 0.4 s of CPU. On the main thread they would hold timers back that long.
    const lag = await maxTimerLagMs(() => Promise.all(Array.from({ length: 16 }, () => verifyPasswordHash(stored, 'pw-dovecot-sha'))));
    assert.ok(lag < 50, `a timer waited ${lag.toFixed(0)} ms during the checks`);
  });
});
