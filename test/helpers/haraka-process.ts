// Starts Haraka on an instance folder the test prepared itself (several instances on one store).
import type { ChildProcess } from 'node:child_process';
import nodemailer from 'nodemailer';
import { spawnHaraka } from '../../src/stack/haraka-instance';
import { waitForPort } from './ports';

export interface RunningHaraka {
  readonly port: number;
  readonly pid: number;
  /** What Haraka printed so far, for failure messages. */
  output(): string;
  /** Stops Haraka by its process id and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts Haraka on a prepared instance folder and waits until it accepts connections on `port`. */
export async function startHaraka(home: string, port: number, env: NodeJS.ProcessEnv = process.env): Promise<RunningHaraka> {
  const child: ChildProcess = spawnHaraka(home, env);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const earlyExit = exited.then(() => {
    throw new Error(`Haraka exited before listening on ${port}:\n${output.slice(-3000)}`);
  });
  await Promise.race([waitForPort(port, 30_000), earlyExit]);
  earlyExit.catch(() => undefined);
  const pid = child.pid!;
  return {
    port,
    pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => process.kill(pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export type SmtpLoginResult = { readonly accepted: true } | { readonly accepted: false; readonly code: number; readonly message: string };

/** Signs in over SMTP with STARTTLS and AUTH PLAIN, as a mail client would, and reports the server's answer. */
export async function smtpLogin(port: number, user: string, pass: string, localAddress = '127.0.0.1'): Promise<SmtpLoginResult> {
  const transporter = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    localAddress,
    tls: { rejectUnauthorized: false },
    auth: { user, pass, method: 'PLAIN' },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 15_000,
  } as nodemailer.TransportOptions);
  try {
    await transporter.verify();
    return { accepted: true };
  } catch (error) {
    const failure = error as { responseCode?: number; response?: string; message: string };
    if (failure.responseCode === undefined) {
      throw error;
    }
    return { accepted: false, code: failure.responseCode, message: failure.response ?? failure.message };
  } finally {
    transporter.close();
  }
}
