import { InputError } from './errors';

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** Ten years: longer expiries or look-backs are almost certainly typing mistakes. */
const MAX_SPAN_MS = 3650 * DAY_MS;

// A calendar date, or a date and time with an optional fraction and zone: what Date.parse reads reliably.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Parses an ISO 8601 date (`2027-01-31`, midnight UTC) or date and time
 * (`2027-01-31T18:00:00Z`; without a zone it is local time, as in JavaScript).
 * Returns epoch milliseconds, or undefined when the value is not in that form.
 */
function parseIsoDate(raw: string): number | undefined {
  if (!ISO_DATE.test(raw)) {
    return undefined;
  }
  const value = Date.parse(raw);
  // Date.parse rolls impossible dates such as 2027-02-30 over; reject them by checking the date part.
  if (!Number.isFinite(value) || (raw.length === 10 && new Date(value).toISOString().slice(0, 10) !== raw)) {
    return undefined;
  }
  return value;
}

/**
 * Parses an app password expiry: `N d` days from now or an ISO 8601 date or time.
 * @throws InputError naming the accepted forms.
 */
export function parseExpiry(raw: string, now: number): number {
  const trimmed = raw.trim();
  const days = /^(\d{1,4})d$/i.exec(trimmed);
  if (days) {
    const count = Number(days[1]);
    if (count < 1 || count * DAY_MS > MAX_SPAN_MS) {
      throw new InputError(`invalid expiry "${trimmed}": give 1d to 3650d`);
    }
    return now + count * DAY_MS;
  }
  const date = parseIsoDate(trimmed);
  if (date === undefined) {
    throw new InputError(`invalid expiry "${trimmed.slice(0, 40)}": expected a number of days like 90d or an ISO date like 2027-01-31`);
  }
  if (date <= now) {
    throw new InputError(`invalid expiry "${trimmed}": it is in the past`);
  }
  return date;
}

/**
 * Parses the start of an audit range: a duration back from now (`30m`, `12h`, `7d`, `2w`)
 * or an ISO 8601 date or time.
 * @throws InputError naming the accepted forms.
 */
export function parseSince(raw: string, now: number): number {
  const trimmed = raw.trim();
  const duration = /^(\d{1,6})([smhdw])$/i.exec(trimmed);
  if (duration) {
    const span = Number(duration[1]) * UNIT_MS[duration[2].toLowerCase()];
    if (span > MAX_SPAN_MS) {
      throw new InputError(`invalid --since "${trimmed}": at most 3650 days back`);
    }
    return now - span;
  }
  const date = parseIsoDate(trimmed);
  if (date === undefined) {
    throw new InputError(`invalid --since "${trimmed.slice(0, 40)}": expected a duration like 7d, 12h or 30m, or an ISO date like 2026-01-31`);
  }
  return date;
}

/**
 * Parses a whole number in a range.
 * @throws InputError with the option name and the range.
 */
export function parseCount(raw: string, option: string, min: number, max: number): number {
  const trimmed = raw.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InputError(`invalid ${option} "${trimmed.slice(0, 20)}": expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * Parses one of a fixed set of values, ignoring case.
 * @throws InputError listing the accepted values.
 */
export function parseChoice<T extends string>(raw: string, option: string, choices: readonly T[]): T {
  const requested = raw.trim().toLowerCase();
  const found = choices.find((choice) => choice.toLowerCase() === requested);
  if (found === undefined) {
    throw new InputError(`invalid ${option} "${raw.slice(0, 40)}": expected ${choices.join(', ')}`);
  }
  return found;
}
