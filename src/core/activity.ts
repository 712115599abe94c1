import type { Store, StoreWrite } from '../store/types';

/** A batch is written early once this many writes wait, so a flood cannot grow the queue without bound. */
const MAX_PENDING_WRITES = 1000;

/**
 * Writes login activity (the last use of a device or an app password, and the login audit
 * event) in batches. A busy front end accepts hundreds of logins a second, and one store
 * transaction for all logins of the last `delayMs` costs about what one login's writes cost
 * alone. What protects a login (the step claim, the counters, the login grant) is written
 * before the reply and never waits here.
 *
 * The price: a process that is killed loses the activity of its last `delayMs`, and a reader
 * in another process sees a login up to `delayMs` late. `[audit] batch_ms = 0` turns batching off.
 */
export class ActivityWriter {
  private pending: StoreWrite[] = [];
  private timer: NodeJS.Timeout | undefined;
  private written: Promise<void> = Promise.resolve();

  /**
   * @param onFailure called with the error and the number of writes lost when a batch cannot
   *   be written. Lost writes are not retried, so a store outage cannot pile them up.
   */
  constructor(
    private readonly store: Store,
    readonly delayMs: number,
    private readonly onFailure: (error: unknown, lost: number) => void,
  ) {}

  /** Queues writes; they land within `delayMs`, or sooner when many are waiting. */
  add(writes: readonly StoreWrite[]): void {
    if (writes.length === 0) {
      return;
    }
    this.pending.push(...writes);
    if (this.pending.length >= MAX_PENDING_WRITES) {
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.delayMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far; resolves when it and every earlier batch landed or failed. */
  flush(): Promise<void> {
    const batch = this.takeBatch();
    this.written = this.written.then(async () => {
      if (batch.length === 0) {
        return;
      }
      try {
        await this.store.writeMany(batch);
      } catch (error) {
        this.onFailure(error, batch.length);
      }
    });
    return this.written;
  }

  /**
   * For a process 'exit' handler, where nothing asynchronous runs any more: starts writing what
   * waits at once. The SQLite store writes inside the call; a Redis store cannot, and loses it.
   */
  flushAtExit(): void {
    const batch = this.takeBatch();
    if (batch.length > 0) {
      this.store.writeMany(batch).catch(() => undefined);
    }
  }

  /** Empties the queue and stops its timer; returns the writes to make. */
  private takeBatch(): StoreWrite[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = latestValuePerKey(this.pending);
    this.pending = [];
    return batch;
  }
}

/** Keeps only the last value written to each key (a client that reconnects sets its last use again), in order. */
function latestValuePerKey(writes: readonly StoreWrite[]): StoreWrite[] {
  const last = new Map<string, number>();
  writes.forEach((write, index) => {
    if (write.type === 'set') {
      last.set(write.key, index);
    }
  });
  return writes.filter((write, index) => write.type !== 'set' || last.get(write.key) === index);
}
