import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI_PATH, CliHome } from './cli-runner';

/** Runs `twostep checkpassword /bin/true` with `login` on a pipe at fd 3, as Dovecot does. */
function runWithLogin(home: CliHome, login: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'checkpassword', '/bin/true'], {
      env: { ...process.env, TWOSTEP_HOME: home.home, TCPREMOTEIP: '127.0.0.1', SERVICE: 'imap' },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    (child.stdio[3] as NodeJS.WritableStream).end(login);
  });
}

describe('cli: checkpassword', function () {
  let home: CliHome;

  beforeEach(async () => {
    home = new CliHome();
    await home.json(['passwd', 'alice@example.org'], { input: 'Winter2024\n' });
  });

  afterEach(() => {
    home.remove();
  });

  it('explains an unreadable fd 3', async () => {
    // The runner passes stdin, stdout and stderr only, as npx does, so fd 3 is not the login.
    const result = await home.run(['checkpassword', '/bin/true'], { env: { TCPREMOTEIP: '127.0.0.1' } });

    assert.equal(result.code, 111, 'temporary failure');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^twostep checkpassword: cannot read the login: file descriptor 3 is not readable \(E[A-Z]+\)\. /);
    assert.match(lines[0], /Dovecot passes the user and password there, as the checkpassword protocol defines\./);
    assert.match(lines[0], /Run the installed twostep command, such as node_modules\/\.bin\/twostep, not "npx twostep"/);
    assert.doesNotMatch(lines[0], /invalid argument, read/);
  });

  it('reads the login from fd 3', async () => {
    const accepted = await runWithLogin(home, 'alice@example.org\0Winter2024\0');
    assert.equal(accepted.code, 0, accepted.stderr);

    const rejected = await runWithLogin(home, 'alice@example.org\0wrong password\0');
    assert.equal(rejected.code, 1, rejected.stderr);
  });
});
