import { performance } from 'node:perf_hooks';

export interface LoadResult {
  readonly count: number;
  readonly failures: number;
  readonly durationMs: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The first failure's message, for the report. */
  readonly firstFailure?: string;
}

/** A load run with its raw latencies, so runs done in rounds can be merged. */
export interface MeasuredLoad extends LoadResult {
  readonly latencies: readonly number[];
}

/** Adds up runs done in rounds: counts and durations add, percentiles come from all latencies. */
export function mergeLoads(parts: readonly MeasuredLoad[]): LoadResult {
  const latencies = parts.flatMap((part) => part.latencies).sort((a, b) => a - b);
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  const durationMs = parts.reduce((sum, part) => sum + part.durationMs, 0);
  return {
    count,
    failures: parts.reduce((sum, part) => sum + part.failures, 0),
    durationMs,
    perSecond: (count / durationMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    firstFailure: parts.find((part) => part.firstFailure !== undefined)?.firstFailure,
  };
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index];
}

/** Records the latency and the outcome of each task of one load run. */
class LoadRecorder {
  private readonly latencies: number[] = [];
  private failures = 0;
  private firstFailure: string | undefined;
  private readonly started = performance.now();

  /** Runs one task and records how long it took and whether it gave the expected outcome. */
  async measure(index: number, task: (index: number) => Promise<boolean>): Promise<void> {
    const begin = performance.now();
    let ok = false;
    try {
      ok = await task(index);
    } catch (error) {
      this.firstFailure ??= (error as Error).message;
    }
    this.latencies.push(performance.now() - begin);
    if (!ok) {
      this.failures += 1;
      this.firstFailure ??= `task ${index} returned an unexpected outcome`;
    }
  }

  /** Returns the figures of the run, timed from the recorder's creation to now. */
  result(count: number): MeasuredLoad {
    const durationMs = performance.now() - this.started;
    const latencies = [...this.latencies].sort((a, b) => a - b);
    return {
      count,
      failures: this.failures,
      durationMs,
      perSecond: (count / durationMs) * 1000,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      firstFailure: this.firstFailure,
      latencies,
    };
  }
}

/**
 * Runs `count` tasks with at most `concurrency` in flight and measures each one. A task
 * resolves true on the expected outcome; false or a throw counts as a failure.
 */
export async function runLoad(count: number, concurrency: number, task: (index: number) => Promise<boolean>, firstIndex = 0): Promise<MeasuredLoad> {
  const recorder = new LoadRecorder();
  let next = firstIndex;
  const end = firstIndex + count;
  async function worker(): Promise<void> {
    while (next < end) {
      await recorder.measure(next++, task);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return recorder.result(count);
}

/**
 * Starts `count` tasks at a fixed rate, one every `intervalMs`, whether or not the earlier ones
 * finished, as independent clients arrive, and measures each one. runLoad keeps its connections
 * busy; this measures the time a request takes on a server that is not saturated.
 */
export async function runPaced(count: number, intervalMs: number, task: (index: number) => Promise<boolean>): Promise<MeasuredLoad> {
  const recorder = new LoadRecorder();
  const started = performance.now();
  const running: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const wait = started + index * intervalMs - performance.now();
    if (wait > 0) {
      await new Promise((resolveWait) => setTimeout(resolveWait, wait));
    }
    running.push(recorder.measure(index, task));
  }
  await Promise.all(running);
  return recorder.result(count);
}
