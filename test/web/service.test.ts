import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger';
import { startHttpService } from '../../src/web/server';
import { freePort } from '../helpers/ports';

describe('startHttpService', () => {
  it('listens on the configured port', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-http-'));
    const port = await freePort();
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), `[http]\nhost = 127.0.0.1\nport = ${port}\n`);
    const lines: string[] = [];
    const logger = createLogger('twostep-http-test', { write: (line: string) => void lines.push(line) });
    const service = await startHttpService({ configDir: join(home, 'config'), logger });
    try {
      assert.equal(service.url, `http://127.0.0.1:${port}/`);
      const response = await fetch(`${service.url}sign-in`);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /<h1>Sign in<\/h1>/);
      assert.ok(lines.some((line) => line.includes('"event":"http-start"')));
    } finally {
      await service.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
