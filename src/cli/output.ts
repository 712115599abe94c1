import { stripControlCharacters } from '../core/account';

/** Writes a command's result either as text for people or as one JSON document (`--json`). */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {}

  /** Prints `data` as JSON, or the text that `render` builds from it. */
  result<T>(data: T, render: (data: T) => string | readonly string[]): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      return;
    }
    const text = render(data);
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) {
      this.stdout.write(`${lines.join('\n')}\n`);
    }
  }

  /** Writes text exactly as given, for formats that are neither JSON nor the text layout (CSV). */
  raw(value: string): void {
    this.stdout.write(value);
  }

  /** Whether stdout is a terminal rather than a pipe or a file. */
  get isTerminal(): boolean {
    return (this.stdout as NodeJS.WriteStream).isTTY === true;
  }

  /** Prints raw text that is not part of the JSON document (only in text mode), such as a QR code. */
  text(value: string): void {
    if (!this.json) {
      this.stdout.write(value.endsWith('\n') ? value : `${value}\n`);
    }
  }
}

/** Formats epoch milliseconds as an ISO 8601 UTC time without fractions, for text output. */
export function formatTime(epochMs: number | undefined): string {
  if (epochMs === undefined) {
    return '-';
  }
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Formats epoch milliseconds as a full ISO 8601 string for JSON output. */
export function isoTime(epochMs: number | undefined): string | undefined {
  return epochMs === undefined ? undefined : new Date(epochMs).toISOString();
}

/** Cleans a stored value for the terminal: control characters could move the cursor or hide text. */
export function cell(value: string | number | boolean | undefined): string {
  if (value === undefined || value === '') {
    return '-';
  }
  return stripControlCharacters(String(value));
}

/** Lays out rows under a header as space-padded columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => (column === values.length - 1 ? value : value.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Quotes one CSV field (RFC 4180): fields with a comma, quote, CR or LF are enclosed in quotes, quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Builds CSV text with a header row and CRLF line ends, as RFC 4180 specifies. */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
