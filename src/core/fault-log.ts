import type { LogFields, Logger } from './context';

/** How long repeats of one fault are counted instead of logged. */
export const FAULT_LOG_INTERVAL_MS = 60_000;

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

  error(logger: Logger, cause: string, fields: LogFields, message: string): void {
    const now = this.clock();
    const entry = this.entries.get(cause);
    if (entry && now - entry.loggedAt < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const repeats = entry?.suppressed ?? 0;
    this.entries.set(cause, { loggedAt: now, suppressed: 0 });
    if (this.entries.size > 1000) {
      // A flood of distinct causes must not grow memory without bound.
      this.entries.clear();
    }
    logger.error({ ...fields, cause, repeats_since_last_log: repeats > 0 ? repeats : undefined }, message);
  }
}

/** One fault log per process, shared by every front door in it. */
export const processFaultLog = new FaultLog();
