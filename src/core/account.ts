import { TwoStepError } from './errors';

/** RFC 5321 limits: 64 octets for the local part, 254 for a whole address in a path. */
const MAX_LOCAL_LENGTH = 64;
const MAX_ACCOUNT_LENGTH = 254;

// C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Removes control characters so that a client-supplied name is safe in logs and headers. */
export function stripControlCharacters(value: string): string {
  return value.replace(CONTROL_CHARACTERS, '');
}

/** Shortens and cleans a client-supplied identity for a log line. */
export function accountForLog(value: string): string {
  const clean = stripControlCharacters(value);
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

/**
 * Normalises a mail login to `local@domain` with the domain lower-cased.
 * The local part keeps its case, as RFC 5321 leaves it to the server; TwoStep lower-cases
 * it too because every mail server we integrate with treats logins case-insensitively.
 * @throws TwoStepError ERR_INVALID_ACCOUNT when the value is not a full address.
 */
export function normalizeAccount(raw: string): string {
  if (typeof raw !== 'string') {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: expected a string like user@example.org');
  }
  if (HAS_CONTROL_CHARACTER.test(raw)) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: it contains control characters');
  }

  const trimmed = raw.trim();
  if (trimmed.length === 0) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: it is empty; expected user@example.org');
  }
  if (trimmed.length > MAX_ACCOUNT_LENGTH) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', `invalid account: longer than ${MAX_ACCOUNT_LENGTH} characters`);
  }

  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: expected a full address like user@example.org');
  }
  const local = trimmed.slice(0, at);
  const domain = trimmed.slice(at + 1);
  if (local.length > MAX_LOCAL_LENGTH) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', `invalid account: the part before @ is longer than ${MAX_LOCAL_LENGTH} characters`);
  }
  if (/\s|:/.test(local)) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: the part before @ contains a space or a colon');
  }
  if (!/^[\p{L}\p{N}.-]+$/u.test(domain) || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) {
    throw new TwoStepError('ERR_INVALID_ACCOUNT', 'invalid account: the domain is not a valid host name');
  }
  return `${local.toLowerCase()}@${domain.toLowerCase()}`;
}

/** Returns the domain of a normalised account. */
export function domainOf(account: string): string {
  return account.slice(account.lastIndexOf('@') + 1);
}

/**
 * Normalises a domain name as the policy and branding levels store it.
 * @throws TwoStepError ERR_INVALID_INPUT for a value that is not a host name.
 */
export function normalizeDomain(raw: string): string {
  const domain = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!/^[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+$/u.test(domain) || domain.length > 253) {
    throw new TwoStepError('ERR_INVALID_INPUT', `invalid domain "${accountForLog(String(raw))}": expected a host name like example.org`);
  }
  return domain;
}
