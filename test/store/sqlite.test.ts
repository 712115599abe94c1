import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite';
import { defineStoreContract } from './contract';

describe('SQLite store contract', () => {
  let folder: string;
  let files = 0;

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-contract-'));
  });

  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  defineStoreContract({
    faultBudgetMs: 1000,
    async create() {
      files += 1;
      return new SqliteStore(join(folder, `store-${files}.sqlite`));
    },
    async createBroken() {
      // A folder where the database file should be: SQLite cannot open it.
      const path = join(folder, `folder-${files++}.sqlite`);
      mkdirSync(path);
      return new SqliteStore(path);
    },
  });
});
