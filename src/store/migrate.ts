import { TwoStepError } from '../core/errors';
import type { Store, StoreEntry } from './types';

export interface MigrationCounts {
  values: number;
  steps: number;
  counters: number;
  audit: number;
}

export interface MigrateOptions {
  /** Copy into a store that already holds records; records under the same keys are replaced, others kept. */
  readonly force?: boolean;
  /** Records read per batch. */
  readonly batchSize?: number;
  /** Called after each batch with the running totals. */
  readonly onProgress?: (counts: Readonly<MigrationCounts>) => void;
}

const COUNT_FIELD: Record<StoreEntry['type'], keyof MigrationCounts> = {
  value: 'values',
  step: 'steps',
  counter: 'counters',
  audit: 'audit',
};

/**
 * Copies every record of one store into another: values (accounts, devices, app passwords,
 * settings, live grants), step claims, counters and the audit log, oldest event first.
 * Secret keys stay encrypted as they are, so the target installation needs the same
 * encryption key. Stop the mail front ends first: records written during the copy may be missed.
 * @throws TwoStepError ERR_CONFLICT when the target holds records and `force` is not set;
 *   ERR_INVALID_INPUT when source and target are the same store; ERR_STORE_UNAVAILABLE on a fault.
 */
export async function migrateStore(from: Store, to: Store, options: MigrateOptions = {}): Promise<MigrationCounts> {
  if (from === to) {
    throw new TwoStepError('ERR_INVALID_INPUT', 'invalid migration: the source and the target are the same store');
  }
  if (!options.force && !(await to.isEmpty())) {
    throw new TwoStepError(
      'ERR_CONFLICT',
      `the target ${to.kind} store already holds records: migrate into an empty store, or pass --force to replace records with the same keys`,
    );
  }

  const counts: MigrationCounts = { values: 0, steps: 0, counters: 0, audit: 0 };
  for await (const batch of from.exportEntries(options.batchSize ?? 1000)) {
    if (batch.length === 0) {
      continue;
    }
    await to.importEntries(batch);
    for (const entry of batch) {
      counts[COUNT_FIELD[entry.type]] += 1;
    }
    options.onProgress?.({ ...counts });
  }
  return counts;
}
