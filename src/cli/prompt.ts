import type { ReadStream } from 'node:tty';
import { InputError } from './errors';

/** More than any password or key fits in; a larger input is a wrong file piped in. */
const MAX_STDIN_BYTES = 64 * 1024;

/** Reads the first line of a non-interactive stdin, without its line end. Returns undefined when stdin is empty. */
export async function readStdinLine(stdin: NodeJS.ReadableStream = process.stdin): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buffer);
    size += buffer.length;
    if (buffer.includes(0x0a)) {
      break;
    }
    if (size > MAX_STDIN_BYTES) {
      throw new InputError(`invalid input: standard input has no line end in its first ${MAX_STDIN_BYTES} bytes`);
    }
  }
  if (size === 0) {
    return undefined;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.indexOf('\n');
  return (end >= 0 ? text.slice(0, end) : text).replace(/\r$/, '');
}

/** Returns whether standard input is a terminal, where a secret is typed at a prompt rather than piped. */
export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/**
 * Prompts on stderr and reads one line from the terminal without echo. Backspace deletes,
 * Ctrl-C and Ctrl-D on an empty line cancel.
 * @throws InputError when cancelled.
 */
export function promptHidden(question: string): Promise<string> {
  const input = process.stdin as ReadStream;
  process.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();

  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (character === '\u0003' || (character === '\u0004' && value === '')) {
          finish();
          reject(new InputError('cancelled: nothing was changed'));
          return;
        }
        if (character === '\u007f' || character === '\b') {
          value = Array.from(value).slice(0, -1).join('');
        } else if (character >= ' ') {
          value += character;
        }
      }
    };
    input.on('data', onData);
  });
}
