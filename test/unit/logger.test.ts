import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeError } from '../../src/cli/errors';
import { isTwoStepError } from '../../src/core/errors';
import { createLogger } from '../../src/logger';
import { SqliteStore } from '../../src/store/sqlite';

interface LoggedError {
  err: { type: string; message: string; stack: string; code?: string };
  msg: string;
}

/** Logs `error` as the `err` field through the service's logger and returns the parsed line. */
function logError(error: unknown): LoggedError {
  const lines: string[] = [];
  const logger = createLogger('twostep-logger-test', { write: (line: string) => void lines.push(line) });
  logger.error({ err: error }, 'request failed');
  assert.equal(lines.length, 1);
  return JSON.parse(lines[0]) as LoggedError;
}

describe('logger', () => {
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-logger-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('logs a store fault cause once', async () => {
    const path = join(folder, 'store.sqlite');
    const store = new SqliteStore(path, Date.now, 50);
    await store.set('record', { n: 1 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let failure: unknown;
    try {
      await store.set('record', { n: 2 }).catch((error: unknown) => (failure = error));
    } finally {
      other.close();
      await store.close();
    }
    assert.ok(isTwoStepError(failure, 'ERR_STORE_UNAVAILABLE'), String(failure));

    const line = logError(failure);
    assert.equal(line.err.message, 'store write failed: database is locked');
    assert.equal(line.err.type, 'TwoStepError');
    assert.equal(line.err.code, 'ERR_STORE_UNAVAILABLE');
    assert.match(line.err.stack, /\ncaused by: SqliteError: database is locked\n/);
    // The CLI prints the message alone, so the cause's text stays in it.
    assert.equal(describeError(failure).message, 'store write failed: database is locked; try again later');
  });

  it('appends a cause the message lacks', () => {
    const connectionError = new Error('connect ECONNREFUSED 127.0.0.1:25');
    const line = logError(new Error('mail server unreachable', { cause: new Error('send failed', { cause: connectionError }) }));
    assert.equal(line.err.message, 'mail server unreachable: send failed: connect ECONNREFUSED 127.0.0.1:25');
  });

  it('stops at a cause cycle', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    first.cause = second;
    assert.equal(logError(first).err.message, 'first: second');
  });

  it('redacts a verification code field', () => {
    const lines: string[] = [];
    const logger = createLogger('twostep-logger-test', { write: (line: string) => void lines.push(line) });
    logger.warn({ code: '081804', error_code: 'ERR_INVALID_CODE' }, 'login rejected');
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(line.code, '[redacted]');
    assert.equal(line.error_code, 'ERR_INVALID_CODE');
  });
});
