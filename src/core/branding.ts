import { normalizeDomain } from './account';
import type { Actor } from './accounts';
import type { TwoStepContext } from './context';
import { TwoStepError } from './errors';
import { keys, type DomainRecord } from './model';

/** The accent colour of the panel's default style sheet. */
export const DEFAULT_ACCENT = '#1f5fbf';

/** Largest logo accepted, in bytes before base64: the logo is inlined into every branded page. */
export const MAX_LOGO_BYTES = 64 * 1024;
export const MAX_PRODUCT_NAME_LENGTH = 60;
export const MAX_HELP_TEXT_LENGTH = 500;

export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

export interface LogoRecord {
  readonly mediaType: LogoType;
  /** The image bytes, base64-encoded. */
  readonly base64: string;
}

/** The branding fields a domain stores. Each is optional, and a missing field falls back to the default. */
export interface BrandingRecord {
  readonly domain: string;
  readonly productName?: string;
  readonly logo?: LogoRecord;
  /** `#rrggbb`, lower-case. */
  readonly accent?: string;
  /** Plain text; lines are separated by `\n`. */
  readonly helpText?: string;
  readonly updatedAt: number;
}

/** The branding a page uses: stored values with defaults filled in. Values are raw text, so escape them on output. */
export interface EffectiveBranding {
  readonly domain: string;
  readonly productName: string;
  readonly accent: string;
  /** A `data:` URL, or undefined for the default logo. */
  readonly logoUrl?: string;
  readonly helpText?: string;
  /** True when the domain stores no branding at all. */
  readonly isDefault: boolean;
}

/**
 * A change to a domain's branding: a value sets the field, `null` removes it (back to the
 * default), and a missing key leaves the field as it is.
 */
export interface BrandingChange {
  readonly productName?: string | null;
  readonly logo?: { readonly bytes: Uint8Array } | null;
  readonly accent?: string | null;
  readonly helpText?: string | null;
}

// Any control character except the line feed that separates lines of help text.
const CONTROL_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Validates a product name: 1 to 60 characters of plain text on one line.
 * @throws TwoStepError ERR_INVALID_INPUT stating the rule.
 */
export function parseProductName(raw: string): string {
  const name = raw.trim();
  if (name === '' || name.length > MAX_PRODUCT_NAME_LENGTH || CONTROL_CHARACTERS.test(name) || name.includes('\n')) {
    throw new TwoStepError('ERR_INVALID_INPUT', `invalid product name: use 1-${MAX_PRODUCT_NAME_LENGTH} characters on one line, without control characters`);
  }
  return name;
}

/**
 * Validates an accent colour. Only `#rrggbb` is accepted, so the value can be put into a
 * style sheet as it is.
 * @throws TwoStepError ERR_INVALID_INPUT stating the rule.
 */
export function parseAccent(raw: string): string {
  const value = raw.trim();
  if (!/^#[0-9a-fA-F]{6}$/.test(value)) {
    throw new TwoStepError('ERR_INVALID_INPUT', `invalid accent colour "${value.slice(0, 20)}": use #rrggbb with six hexadecimal digits, such as #1f5fbf`);
  }
  return value.toLowerCase();
}

/**
 * Validates help text: plain text up to 500 characters; CRLF line ends become LF.
 * @throws TwoStepError ERR_INVALID_INPUT stating the rule.
 */
export function parseHelpText(raw: string): string {
  const text = raw.replace(/\r\n?/g, '\n').trim();
  if (text === '' || text.length > MAX_HELP_TEXT_LENGTH || CONTROL_CHARACTERS.test(text)) {
    throw new TwoStepError('ERR_INVALID_INPUT', `invalid help text: use 1-${MAX_HELP_TEXT_LENGTH} characters of plain text, without control characters other than line breaks`);
  }
  return text;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((value, index) => bytes[index] === value);
}

// Markup that can run script or load other resources when an SVG is opened on its own.
// A reference is external unless it is a fragment (`#id`) inside the same file.
const UNSAFE_SVG = /<script|<foreignObject|<!ENTITY|<!DOCTYPE|@import|\son[a-z]+\s*=|javascript:|\bhref\s*=\s*(?:"(?!#)|'(?!#)|[^"'\s#])|url\(\s*(?:"(?!#)|'(?!#)|[^"'\s#])/i;

/**
 * Checks a logo's bytes and returns its media type: PNG and JPEG by their signature, SVG by
 * its root element. An SVG with scripts, event handlers, external references or a DOCTYPE
 * is rejected: pages show the logo through `<img>`, where scripts do not run, but a
 * browser that opens the data URL itself would run them.
 * @throws TwoStepError ERR_INVALID_INPUT stating the rule.
 */
export function parseLogo(bytes: Uint8Array): LogoRecord {
  if (bytes.length === 0) {
    throw new TwoStepError('ERR_INVALID_INPUT', 'invalid logo: the file is empty');
  }
  if (bytes.length > MAX_LOGO_BYTES) {
    throw new TwoStepError('ERR_INVALID_INPUT', `invalid logo: ${bytes.length} bytes is over the limit of ${MAX_LOGO_BYTES} bytes (64 KB); use a smaller image`);
  }
  const base64 = Buffer.from(bytes).toString('base64');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { mediaType: 'image/png', base64 };
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    return { mediaType: 'image/jpeg', base64 };
  }

  const text = Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, '');
  const withoutProlog = text.replace(/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*/, '');
  if (/^<svg[\s>]/.test(withoutProlog)) {
    if (UNSAFE_SVG.test(text)) {
      throw new TwoStepError('ERR_INVALID_INPUT', 'invalid logo: the SVG contains a script, an event handler, an external reference or a DOCTYPE; export a plain SVG');
    }
    return { mediaType: 'image/svg+xml', base64 };
  }
  throw new TwoStepError('ERR_INVALID_INPUT', 'invalid logo: expected a PNG, JPEG or SVG image');
}

/** Returns the logo as a `data:` URL for an `<img src>`. */
export function logoDataUrl(logo: LogoRecord): string {
  return `data:${logo.mediaType};base64,${logo.base64}`;
}

/** Fills in the defaults for a domain without (some) branding. */
export function effectiveBranding(context: TwoStepContext, domain: string, record: BrandingRecord | undefined): EffectiveBranding {
  return {
    domain,
    productName: record?.productName ?? context.options.issuer,
    accent: record?.accent ?? DEFAULT_ACCENT,
    logoUrl: record?.logo ? logoDataUrl(record.logo) : undefined,
    helpText: record?.helpText,
    isDefault: record === undefined,
  };
}

/** Returns the stored branding record of a domain, or undefined when it has none. */
export async function getStoredBranding(context: TwoStepContext, rawDomain: string): Promise<BrandingRecord | undefined> {
  return context.store.get<BrandingRecord>(keys.branding(normalizeDomain(rawDomain)));
}

/** Returns the branding pages of a domain use; a domain without branding gets the default. */
export async function getBranding(context: TwoStepContext, rawDomain: string): Promise<EffectiveBranding> {
  const domain = normalizeDomain(rawDomain);
  return effectiveBranding(context, domain, await context.store.get<BrandingRecord>(keys.branding(domain)));
}

/**
 * Checks that a domain was added with `twostep domain add`: branding exists only for those.
 * @throws TwoStepError ERR_NOT_FOUND naming the command that adds it.
 */
export async function requireDomain(context: TwoStepContext, domain: string): Promise<void> {
  if (!(await context.store.get<DomainRecord>(keys.domain(domain)))) {
    throw new TwoStepError('ERR_NOT_FOUND', `domain ${domain} not found: add it first with "twostep domain add ${domain}"`);
  }
}

const FIELD_LABELS = { productName: 'product name', logo: 'logo', accent: 'accent colour', helpText: 'help text' } as const;

function validateChange(change: BrandingChange): Partial<Record<keyof Omit<BrandingRecord, 'domain' | 'updatedAt'>, unknown>> {
  const fields: Partial<Record<keyof Omit<BrandingRecord, 'domain' | 'updatedAt'>, unknown>> = {};
  if (change.productName !== undefined) {
    fields.productName = change.productName === null ? null : parseProductName(change.productName);
  }
  if (change.logo !== undefined) {
    fields.logo = change.logo === null ? null : parseLogo(change.logo.bytes);
  }
  if (change.accent !== undefined) {
    fields.accent = change.accent === null ? null : parseAccent(change.accent);
  }
  if (change.helpText !== undefined) {
    fields.helpText = change.helpText === null ? null : parseHelpText(change.helpText);
  }
  return fields;
}

/**
 * Changes a domain's branding. Every value is checked before anything is written, so a bad
 * value leaves the stored branding as it was.
 * @throws TwoStepError ERR_INVALID_INPUT for a bad value or domain, ERR_NOT_FOUND for a domain that was not added.
 */
export async function setBranding(context: TwoStepContext, actor: Actor, rawDomain: string, change: BrandingChange): Promise<BrandingRecord> {
  const domain = normalizeDomain(rawDomain);
  const fields = validateChange(change);
  if (Object.keys(fields).length === 0) {
    throw new TwoStepError('ERR_INVALID_INPUT', 'nothing to change: give a product name, logo, accent colour or help text');
  }
  await requireDomain(context, domain);

  // The admin form sends every field: the audit event names only those whose value changed.
  let changed: string[] = [];
  const written = await context.store.update<BrandingRecord>(keys.branding(domain), (current) => {
    const next: Record<string, unknown> = { ...(current ?? { domain }), updatedAt: context.now() };
    changed = [];
    for (const [name, value] of Object.entries(fields)) {
      if (JSON.stringify(next[name] ?? null) !== JSON.stringify(value)) {
        changed.push(FIELD_LABELS[name as keyof typeof FIELD_LABELS]);
      }
      if (value === null) {
        delete next[name];
      } else {
        next[name] = value;
      }
    }
    return next as unknown as BrandingRecord;
  });
  if (changed.length === 0) {
    return written as BrandingRecord;
  }

  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'branding-set', ip: actor.ip, detail: `${domain}: ${changed.join(', ')}` });
  context.logger.info({ event: 'audit', actor: actor.actor, action: 'branding-set', domain, ip: actor.ip }, 'audit: branding-set');
  return written as BrandingRecord;
}

/**
 * Removes a domain's branding, so its pages use the default again. Returns false when the
 * domain had none.
 * @throws TwoStepError ERR_NOT_FOUND for a domain that was not added.
 */
export async function clearBranding(context: TwoStepContext, actor: Actor, rawDomain: string): Promise<boolean> {
  const domain = normalizeDomain(rawDomain);
  await requireDomain(context, domain);
  const removed = await context.store.delete(keys.branding(domain));
  if (!removed) {
    return false;
  }
  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'branding-cleared', ip: actor.ip, detail: domain });
  context.logger.info({ event: 'audit', actor: actor.actor, action: 'branding-cleared', domain, ip: actor.ip }, 'audit: branding-cleared');
  return true;
}
