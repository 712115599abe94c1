import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstallation, type Installation } from '../../src/installation';
import type { IniConfig } from '../../src/core/options';
import type { PasswordBackend } from '../../src/backends/types';
import type { Store } from '../../src/store/types';

/** A settable clock for tests: RFC 6238 vectors and step boundaries need exact times. */
export class TestClock {
  constructor(public milliseconds: number) {}
  readonly now = (): number => this.milliseconds;
  setSeconds(seconds: number): void {
    this.milliseconds = seconds * 1000;
  }
  advanceSeconds(seconds: number): void {
    this.milliseconds += seconds * 1000;
  }
}

export interface TestInstallation extends Installation {
  readonly home: string;
  readonly clock: TestClock;
  /** Closes the installation and removes its folder. */
  dispose(): Promise<void>;
}

export interface TestInstallationOptions {
  readonly startSeconds?: number;
  readonly ini?: IniConfig;
  /** Extra lines for twostep.ini in the instance config folder. */
  readonly iniText?: string;
  readonly store?: Store;
  readonly backend?: PasswordBackend;
}

/** Creates a throwaway installation in a temporary folder with a frozen clock. */
export async function createTestInstallation(options: TestInstallationOptions = {}): Promise<TestInstallation> {
  const home = mkdtempSync(join(tmpdir(), 'twostep-test-'));
  const configDir = join(home, 'config');
  mkdirSync(configDir, { recursive: true });
  if (options.iniText) {
    writeFileSync(join(configDir, 'twostep.ini'), options.iniText);
  }
  const clock = new TestClock((options.startSeconds ?? 1111111109) * 1000);
  const installation = await openInstallation({
    configDir,
    ini: options.ini,
    now: clock.now,
    store: options.store,
    backend: options.backend,
    env: { TWOSTEP_DATA_DIR: join(home, 'data') },
  });
  return {
    ...installation,
    home,
    clock,
    async dispose() {
      await installation.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The RFC 6238 SHA-1 test key and its codes by time step. */
export const RFC_KEY = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
export const RFC_CODES = {
  37037035: '731029',
  37037036: '081804',
  37037037: '050471',
  37037038: '266759',
  37037039: '306183',
} as const;
