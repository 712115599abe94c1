import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { openInstallation, type Installation } from '../../src/installation';
import { prepareHarakaInstance, spawnHaraka } from '../../src/stack/haraka-instance';
import { freePort, waitForPort } from './ports';

export interface RunningHaraka {
  readonly home: string;
  readonly port: number;
  /** The same installation Haraka uses, opened in the test process for setup and checks. */
  readonly installation: Installation;
  readonly process: ChildProcess;
  /** Everything Haraka printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartHarakaOptions {
  readonly workers?: number;
  readonly extraIni?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Writes config/twostep.timeout: seconds before Haraka replies `500 plugin timeout`. */
  readonly pluginTimeoutSeconds?: number;
  /** Haraka's log level; INFO is where Haraka logs hook parameters. */
  readonly logLevel?: string;
  /** Adds a plugin that writes connection.notes to HOME/notes.json at MAIL FROM. */
  readonly probeNotes?: boolean;
}

/** Starts a real Haraka process with the twostep plugin on a free port of 127.0.0.1. */
export async function startHaraka(options: StartHarakaOptions = {}): Promise<RunningHaraka> {
  const home = mkdtempSync(join(tmpdir(), 'twostep-haraka-'));
  const port = await freePort();
  await prepareHarakaInstance({ home, smtpPort: port, httpPort: await freePort(), extraIni: options.extraIni, workers: options.workers, logLevel: options.logLevel ?? 'notice' });
  if (options.pluginTimeoutSeconds !== undefined) {
    writeFileSync(join(home, 'config', 'twostep.timeout'), `${options.pluginTimeoutSeconds}\n`);
  }
  if (options.probeNotes) {
    mkdirSync(join(home, 'plugins'), { recursive: true });
    writeFileSync(
      join(home, 'plugins', 'notes_probe.js'),
      `exports.hook_mail = function (next, connection) {\n  require('fs').writeFileSync(${JSON.stringify(join(home, 'notes.json'))}, JSON.stringify(connection.notes));\n  next();\n};\n`,
    );
    appendFileSync(join(home, 'config', 'plugins'), 'notes_probe\n');
  }
  const env = { ...process.env, ...options.env };
  const installation = await openInstallation({ configDir: join(home, 'config'), env });
  const child = spawnHaraka(home, env);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitForPort(port, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Haraka did not start: ${(error as Error).message}\n${output}`);
  }
  return {
    home,
    port,
    installation,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await installation.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export type SmtpAuthResult = { readonly ok: true } | { readonly ok: false; readonly code: number | undefined; readonly response: string };

/** Signs in over SMTP with STARTTLS, as a mail client does, and reports the server's reply. */
export async function smtpLogin(
  port: number,
  user: string,
  pass: string,
  options: { method?: 'PLAIN' | 'LOGIN'; localAddress?: string } = {},
): Promise<SmtpAuthResult> {
  const transporter = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass, method: options.method ?? 'PLAIN' },
    localAddress: options.localAddress,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  } as nodemailer.TransportOptions);
  try {
    await transporter.verify();
    return { ok: true };
  } catch (error) {
    const failure = error as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: failure.responseCode, response: failure.response ?? failure.message };
  } finally {
    transporter.close();
  }
}

/** Sends EHLO, then `command`, over plain TCP and returns the reply to the command. */
export function commandWithoutTls(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let stage = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const complete = /^\d{3} .*\r\n/m.exec(buffer);
      if (!complete) {
        return;
      }
      const reply = buffer.slice(0, complete.index + complete[0].length).trimEnd();
      buffer = '';
      stage++;
      if (stage === 1) {
        socket.write('EHLO client.example\r\n');
      } else if (stage === 2) {
        socket.write(`${command}\r\n`);
      } else {
        socket.end('QUIT\r\n');
        resolve(reply.split('\r\n').pop() ?? reply);
      }
    });
    socket.on('error', reject);
  });
}

/** Sends EHLO over plain TCP and returns the advertised extensions. */
export function ehloWithoutTls(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let sent = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!sent && /^220 /m.test(buffer)) {
        sent = true;
        buffer = '';
        socket.write('EHLO client.example\r\n');
      } else if (sent && /^250 /m.test(buffer)) {
        socket.end('QUIT\r\n');
        resolve(buffer);
      }
    });
    socket.on('error', reject);
  });
}
