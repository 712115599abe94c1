import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** A line-level SMTP client for sending exactly the bytes a test wants, after STARTTLS. */
export class RawSmtpSession {
  private buffer = '';
  private waiters: Array<() => void> = [];

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (const waiter of this.waiters.splice(0)) {
        waiter();
      }
    });
    socket.on('close', () => {
      for (const waiter of this.waiters.splice(0)) {
        waiter();
      }
    });
  }

  /** Connects, reads the greeting, sends EHLO and STARTTLS and EHLO again. */
  static async open(port: number): Promise<RawSmtpSession> {
    const tcp = connectTcp(port, '127.0.0.1');
    const session = new RawSmtpSession(tcp);
    await session.readReply();
    await session.command('EHLO client.example');
    const ready = await session.command('STARTTLS');
    if (!ready.startsWith('220')) {
      throw new Error(`STARTTLS failed: ${ready}`);
    }
    tcp.removeAllListeners('data');
    const secure = connectTls({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    session.socket = secure;
    session.buffer = '';
    session.attach(secure);
    await session.command('EHLO client.example');
    return session;
  }

  /** Reads one complete reply (all continuation lines); returns '' when the server closed. */
  async readReply(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^(\d{3}) .*\r\n/m.exec(this.buffer);
      if (match) {
        const end = match.index + match[0].length;
        const reply = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        return reply.trimEnd();
      }
      if (this.socket.destroyed || Date.now() > deadline) {
        return '';
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async command(line: string | Buffer): Promise<string> {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : Buffer.concat([line, Buffer.from('\r\n')]));
    return this.readReply();
  }

  close(): void {
    this.socket.destroy();
  }
}
