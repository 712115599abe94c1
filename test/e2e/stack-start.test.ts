import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/ports';

const START = resolve(__dirname, '..', '..', 'src', 'stack', 'start.js');

describe('npm start', function () {
  this.timeout(60_000);

  it('names its store and stops on SIGINT', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-stack-'));
    const env: NodeJS.ProcessEnv = { ...process.env, TWOSTEP_HOME: home, TWOSTEP_SMTP_PORT: String(await freePort()), TWOSTEP_HTTP_PORT: String(await freePort()) };
    delete env.TWOSTEP_DATA_DIR;
    delete env.TWOSTEP_ENCRYPTION_KEY;
    const child = spawn(process.execPath, [START], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    try {
      const deadline = Date.now() + 45_000;
      while (!output.includes('Web panel:') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolvePause) => setTimeout(resolvePause, 100));
      }
      assert.match(output, new RegExp(`TwoStep is running in ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(output, /^ {2}Store: +SQLite file .*\.sqlite$/m);
    } finally {
      if (child.exitCode === null) {
        process.kill(child.pid!, 'SIGINT');
      }
      const code = await exited;
      rmSync(home, { recursive: true, force: true });
      assert.equal(code, 0, output.slice(-2000));
    }
  });
});
