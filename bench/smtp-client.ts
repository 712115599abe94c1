import { connect, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

export interface SmtpReply {
  readonly code: number;
  readonly text: string;
}

/** Reads complete SMTP replies (the last line of a reply has a space after the code) from a socket. */
class ReplyReader {
  private buffer = '';
  private waiting: ((reply: SmtpReply) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;

  attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.deliver();
    });
    socket.on('error', (error) => this.failed?.(error));
    socket.on('close', () => this.failed?.(new Error('connection closed by the server')));
  }

  detach(socket: Socket): void {
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
  }

  private deliver(): void {
    if (!this.waiting) {
      return;
    }
    const lines = this.buffer.split('\r\n');
    for (let index = 0; index < lines.length - 1; index++) {
      if (/^\d{3} /.test(lines[index])) {
        const text = lines.slice(0, index + 1).join('\n');
        this.buffer = lines.slice(index + 1).join('\r\n');
        const resolve = this.waiting;
        this.waiting = undefined;
        this.failed = undefined;
        resolve({ code: Number(lines[index].slice(0, 3)), text });
        return;
      }
    }
  }

  next(): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.deliver();
    });
  }
}

async function expect(reader: ReplyReader, code: number, step: string): Promise<void> {
  const reply = await reader.next();
  if (reply.code !== code) {
    throw new Error(`SMTP ${step}: expected ${code}, got ${reply.text.slice(0, 200)}`);
  }
}

/**
 * One mail-client login: connect, EHLO, STARTTLS (a full TLS handshake, as a client without
 * a session cache does), EHLO, AUTH PLAIN, QUIT. Returns the AUTH reply code.
 */
export async function smtpAuthPlain(port: number, user: string, password: string): Promise<number> {
  const plain = connect(port, '127.0.0.1');
  plain.setNoDelay(true);
  const reader = new ReplyReader();
  reader.attach(plain);
  let secure: TLSSocket | undefined;
  try {
    await expect(reader, 220, 'greeting');
    plain.write('EHLO bench.example.test\r\n');
    await expect(reader, 250, 'EHLO');
    plain.write('STARTTLS\r\n');
    await expect(reader, 220, 'STARTTLS');

    reader.detach(plain);
    secure = connectTls({ socket: plain, rejectUnauthorized: false });
    reader.attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure!.once('secureConnect', resolve);
      secure!.once('error', reject);
    });
    secure.write('EHLO bench.example.test\r\n');
    await expect(reader, 250, 'EHLO after STARTTLS');
    secure.write(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64')}\r\n`);
    const auth = await reader.next();
    secure.write('QUIT\r\n');
    return auth.code;
  } finally {
    (secure ?? plain).destroy();
  }
}
