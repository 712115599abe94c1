import type { LogFields, Logger } from './context';

/** How long repeats of one fault are counted instead of logged. */
export const FAULT_LOG_INTERVAL_MS = 60_000;

/** Distinct keys kept before the counts are dropped, so a flood of distinct keys cannot grow memory without bound. */
const MAX_ENTRIES = 1000;

interface FaultEntry {
  loggedAt: number;
  suppressed: number;
}

/**
 * Logs each distinct fault once per interval and counts the repeats in between, so a store
 * outage under load writes one line a minute with a count rather than one line per login.
 */
export class FaultLog {
  private readonly entries = new Map<string, FaultEntry>();

  constructor(private readonly intervalMs = FAULT_LOG_INTERVAL_MS, private readonly clock: () => number = Date.now) {}

  /** Logs the fault at error level unless it was logged within the interval; returns whether it was. */
  error(logger: Logger, cause: string, fields: LogFields, message: string): boolean {
    const repeats = this.count(cause);
    if (repeats === undefined) {
      return false;
    }
    logger.error({ ...fields, cause, repeats_since_last_log: repeats > 0 ? repeats : undefined }, message);
    return true;
  }

  /**
   * Counts one occurrence of `key` at `now`, in epoch milliseconds from the caller's clock or else
   * this log's own. Returns undefined when the occurrence is only counted, or, when it is due a
   * log line, the number of occurrences counted without a line since the previous one.
   */
  count(key: string, now: number = this.clock()): number | undefined {
    const entry = this.entries.get(key);
    // A clock that stepped back logs again rather than staying silent until it catches up.
    if (entry && now >= entry.loggedAt && now - entry.loggedAt < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }

    const repeats = entry?.suppressed ?? 0;
    this.entries.set(key, { loggedAt: now, suppressed: 0 });
    if (this.entries.size > MAX_ENTRIES) {
      this.entries.clear();
    }
    return repeats;
  }
}

/** One fault log per process, shared by every front door in it. */
export const processFaultLog = new FaultLog();
