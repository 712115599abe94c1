import { connect, type Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface ImapOutcome {
  readonly ok: boolean;
  /** The server's response code on failure, such as AUTHENTICATIONFAILED or UNAVAILABLE. */
  readonly code?: string;
  readonly text?: string;
}

/**
 * Logs in over IMAP from `localAddress` (any 127.0.0.0/8 address). A distinct source address
 * per rejection case keeps Dovecot's per-IP penalty after failed logins out of the other cases.
 */
export async function imapLogin(port: number, user: string, pass: string, localAddress = '127.0.0.1'): Promise<ImapOutcome> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    logger: false,
    transport: {
      connect: (options, onConnect) => connect({ host: options.host, port: options.port, localAddress }, onConnect),
    },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
    return { ok: true };
  } catch (error) {
    const failure = error as { serverResponseCode?: string; responseText?: string; message: string };
    client.close();
    return { ok: false, code: failure.serverResponseCode, text: failure.responseText ?? failure.message };
  }
}

/** A line-based POP3 session: sends USER and PASS and returns the server's reply to PASS. */
export async function pop3Login(port: number, user: string, pass: string, localAddress = '127.0.0.1'): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.setEncoding('utf8');
  const lines = lineReader(socket);
  try {
    await lines.next();
    socket.write(`USER ${user}\r\n`);
    await lines.next();
    socket.write(`PASS ${pass}\r\n`);
    const reply = await lines.next();
    socket.write('QUIT\r\n');
    return reply;
  } finally {
    socket.destroy();
  }
}

function lineReader(socket: Socket): { next(): Promise<string> } {
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const ready: string[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let index;
    while ((index = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      const waiter = waiting.shift();
      if (waiter) {
        waiter(line);
      } else {
        ready.push(line);
      }
    }
  });
  socket.on('close', () => waiting.splice(0).forEach((waiter) => waiter('(connection closed)')));
  socket.on('error', () => undefined);
  return {
    next: () => new Promise((resolve) => (ready.length > 0 ? resolve(ready.shift()!) : waiting.push(resolve))),
  };
}

export interface SmtpOutcome {
  readonly ok: boolean;
  readonly code?: number;
  readonly response?: string;
}

/** Connects without TLS and sends AUTH PLAIN with nodemailer's SMTP client. */
export async function smtpLogin(port: number, user: string, pass: string, localAddress = '127.0.0.1'): Promise<SmtpOutcome> {
  const connection = new SMTPConnection({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, localAddress, connectionTimeout: 10_000, authMethod: 'PLAIN' });
  connection.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect(() => resolve());
    });
    return await new Promise<SmtpOutcome>((resolve) => {
      connection.login({ user, pass }, (error) => {
        if (error) {
          const failure = error as Error & { responseCode?: number; response?: string };
          resolve({ ok: false, code: failure.responseCode, response: failure.response });
        } else {
          resolve({ ok: true });
        }
      });
    });
  } finally {
    connection.close();
  }
}
