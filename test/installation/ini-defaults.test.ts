import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../src/core/options';
import { readIni, unknownSettings } from '../../src/installation';

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

describe('twostep.ini unknown settings', () => {
  function readText(text: string) {
    const home = mkdtempSync(join(tmpdir(), 'twostep-ini-'));
    try {
      mkdirSync(join(home, 'config'));
      writeFileSync(join(home, 'config', 'twostep.ini'), text);
      return readIni(join(home, 'config'));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }

  it('finds none in the shipped defaults', () => {
    assert.deepEqual(unknownSettings(readText('')), []);
  });

  it('finds none in a full file', () => {
    const ini = readText(
      [
        '[main]', 'admins[] = admin@example.org', '[grants]', 'ipv4_prefix = 24', 'ipv6_prefix = 56',
        '[auth_endpoints]', 'key = 0123456789abcdef0123456789abcdef', '[nginx]', 'imap_server = 127.0.0.1:143',
        'pop3_server = 127.0.0.1:110', 'backend_password = x', '[nginx_domains]', 'example.org.imap = 127.0.0.1:1143', '',
      ].join('\n'),
    );
    assert.deepEqual(unknownSettings(ini), []);
  });

  it('names misspelt keys and unknown sections', () => {
    const ini = readText('[totp]\nwindw = 2\n[trottle]\nlock_after = 5\n[http]\nprot = 8080\n');
    assert.deepEqual(unknownSettings(ini).sort(), ['[http] prot', '[totp] windw', '[trottle]']);
  });
});
