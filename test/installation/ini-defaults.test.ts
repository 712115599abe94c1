import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../src/core/options';
import { readIni } from '../../src/installation';

describe('twostep.ini defaults', () => {
  it('an instance file without [audit] keeps login auditing on', () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-ini-'));
    try {
      mkdirSync(join(home, 'config'));
      writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\nissuer = Example Mail\n');
      const ini = readIni(join(home, 'config'));
      assert.equal(parseOptions(ini).issuer, 'Example Mail');
      assert.equal(parseOptions(ini).auditLogins, true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
