import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../helpers/ports';

/** The uid and gid mail is read as in throwaway instances: Dovecot refuses uid 0. */
const MAIL_ID = 65534;

export interface DovecotInstance {
  readonly dir: string;
  readonly imapPort: number;
  readonly pop3Port: number;
  readonly logPath: string;
  /** The last lines of Dovecot's log, for assertion messages. */
  logTail(): string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  /** Config lines with the passdb (and anything it needs), placed after the base settings. */
  readonly authConfig: (dir: string) => string;
}

/** Starts a throwaway Dovecot (IMAP and POP3 on free ports of 127.0.0.1) as root, as the Debian package installs it. */
export async function startDovecot(options: DovecotOptions): Promise<DovecotInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'twostep-dovecot-'));
  // Dovecot's unprivileged processes (dovecot, dovenull, the mail uid) must traverse the folder.
  chmodSync(dir, 0o755);
  for (const sub of ['mail', 'home']) {
    mkdirSync(join(dir, sub));
    chownSync(join(dir, sub), MAIL_ID, MAIL_ID);
  }
  const imapPort = await freePort();
  const pop3Port = await freePort();
  const logPath = join(dir, 'dovecot.log');
  const config = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `log_path = ${logPath}`,
    'protocols = imap pop3',
    'listen = 127.0.0.1',
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    // Only for tests: Dovecot's 2 s delay after each failed login would slow every rejection case.
    'auth_failure_delay = 0',
    'auth_verbose = yes',
    `mail_location = maildir:${dir}/mail/%u`,
    'service imap-login {',
    `  inet_listener imap {\n    address = 127.0.0.1\n    port = ${imapPort}\n  }`,
    '  inet_listener imaps {\n    port = 0\n  }',
    '}',
    'service pop3-login {',
    `  inet_listener pop3 {\n    address = 127.0.0.1\n    port = ${pop3Port}\n  }`,
    '  inet_listener pop3s {\n    port = 0\n  }',
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${MAIL_ID} gid=${MAIL_ID} home=${dir}/home/%u`,
    '}',
    options.authConfig(dir),
    '',
  ].join('\n');
  const configPath = join(dir, 'dovecot.conf');
  writeFileSync(configPath, config);

  // The daemon keeps the standard streams it was given, so they go to a file: a pipe would
  // keep spawnSync waiting for as long as Dovecot runs.
  const stderrPath = join(dir, 'start.err');
  const stderrFd = openSync(stderrPath, 'w');
  const started = spawnSync('/usr/sbin/dovecot', ['-c', configPath], { stdio: ['ignore', stderrFd, stderrFd] });
  closeSync(stderrFd);
  if (started.status !== 0) {
    const output = readFileSync(stderrPath, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`dovecot did not start (exit ${started.status}): ${output}`);
  }
  const logTail = (): string => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  try {
    await waitForPort(imapPort);
    await waitForPort(pop3Port);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logTail()}`);
  }

  return {
    dir,
    imapPort,
    pop3Port,
    logPath,
    logTail,
    async stop() {
      let pid: number | undefined;
      try {
        pid = Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim());
      } catch {
        pid = undefined;
      }
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && isAlive(pid)) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
