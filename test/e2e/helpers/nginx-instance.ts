import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../helpers/ports';

export interface NginxInstance {
  readonly imapPort: number;
  readonly pop3Port: number;
  readonly smtpPort: number;
  logTail(): string;
  stop(): Promise<void>;
}

export interface NginxOptions {
  readonly authPort: number;
  readonly key: string;
}

/** Starts a throwaway nginx mail proxy (IMAP, POP3, SMTP on free ports of 127.0.0.1) that asks TwoStep at /auth/nginx. */
export async function startNginx(options: NginxOptions): Promise<NginxInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'twostep-nginx-'));
  const [imapPort, pop3Port, smtpPort] = [await freePort(), await freePort(), await freePort()];
  const errorLog = join(dir, 'error.log');
  const config = `load_module /usr/lib/nginx/modules/ngx_mail_module.so;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} info;
events { worker_connections 64; }
mail {
    auth_http 127.0.0.1:${options.authPort}/auth/nginx;
    auth_http_header X-TwoStep-Key "${options.key}";
    proxy_pass_error_message on;
    server {
        listen 127.0.0.1:${imapPort};
        protocol imap;
        imap_auth plain login;
    }
    server {
        listen 127.0.0.1:${pop3Port};
        protocol pop3;
        pop3_auth plain;
    }
    server {
        listen 127.0.0.1:${smtpPort};
        protocol smtp;
        smtp_auth plain login;
        xclient off;
    }
}
`;
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config);
  const stderrPath = join(dir, 'start.err');
  const stderrFd = openSync(stderrPath, 'w');
  // nginx daemonizes and keeps the streams it was given: a file, so spawnSync returns.
  const started = spawnSync('/usr/sbin/nginx', ['-c', configPath, '-e', errorLog, '-p', dir], { stdio: ['ignore', stderrFd, stderrFd] });
  closeSync(stderrFd);
  const logTail = (): string => {
    try {
      return readFileSync(errorLog, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  };
  if (started.status !== 0) {
    const output = readFileSync(stderrPath, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start (exit ${started.status}): ${output}`);
  }
  await Promise.all([waitForPort(imapPort), waitForPort(pop3Port), waitForPort(smtpPort)]);

  return {
    imapPort,
    pop3Port,
    smtpPort,
    logTail,
    async stop() {
      const pid = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
