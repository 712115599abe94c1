import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { normalizeDomain } from '../../core/account';
import {
  clearBranding,
  effectiveBranding,
  getStoredBranding,
  MAX_LOGO_BYTES,
  requireDomain,
  setBranding,
  type BrandingChange,
  type BrandingRecord,
} from '../../core/branding';
import type { TwoStepContext } from '../../core/context';
import { InputError, UsageError } from '../errors';
import type { CliHelpers } from '../helpers';
import { cell, isoTime } from '../output';

interface SetOptions {
  // Commander gives `false` for the --no-… form of an option.
  name?: string | false;
  logo?: string | false;
  accent?: string | false;
  helpText?: string | false;
}

/** Reads a logo file, checking its size first so a large file is never read into memory. */
function readLogo(path: string): Uint8Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new InputError(`logo file ${path} not found or not readable`);
  }
  if (size > MAX_LOGO_BYTES) {
    throw new InputError(`invalid logo: ${path} has ${size} bytes, over the limit of ${MAX_LOGO_BYTES} bytes (64 KB); use a smaller image`);
  }
  return readFileSync(path);
}

function toChange(options: SetOptions): BrandingChange {
  const pick = (value: string | false | undefined) => (value === false ? null : value);
  let logo: BrandingChange['logo'];
  if (options.logo === false) {
    logo = null;
  } else if (options.logo !== undefined) {
    logo = { bytes: readLogo(options.logo) };
  }
  return { productName: pick(options.name), logo, accent: pick(options.accent), helpText: pick(options.helpText) };
}

/** Builds the JSON view of a domain's branding, with the logo as its type and size rather than its bytes. */
function brandingView(context: TwoStepContext, domain: string, record: BrandingRecord | undefined) {
  const effective = effectiveBranding(context, domain, record);
  return {
    domain,
    isDefault: effective.isDefault,
    productName: effective.productName,
    accent: effective.accent,
    logo: record?.logo ? { mediaType: record.logo.mediaType, bytes: Buffer.from(record.logo.base64, 'base64').length } : null,
    helpText: effective.helpText ?? null,
    updatedAt: isoTime(record?.updatedAt) ?? null,
  };
}

type BrandingView = ReturnType<typeof brandingView>;

function brandingText(view: BrandingView): string[] {
  return [
    `Domain:        ${cell(view.domain)}${view.isDefault ? ' (default branding)' : ''}`,
    `Product name:  ${cell(view.productName)}`,
    `Accent colour: ${view.accent}`,
    `Logo:          ${view.logo ? `${view.logo.mediaType}, ${view.logo.bytes} bytes` : 'default'}`,
    `Help text:     ${view.helpText === null ? '-' : cell(view.helpText.replace(/\n/g, ' / '))}`,
  ];
}

export function register(program: Command, helpers: CliHelpers): void {
  const group = program
    .command('branding')
    .description('set the product name, logo, accent colour and help text that a domain\'s users see on the verification-code page and the pairing screen');

  const set = group
    .command('set')
    .description('change the branding of a domain (add the domain first with "twostep domain add"); options not given stay as they are')
    .argument('<domain>', 'a domain added with "twostep domain add"')
    .option('--name <text>', `product name, 1-60 characters (default: [main] issuer)`)
    .option('--no-name', 'remove the product name')
    .option('--logo <file>', `PNG, JPEG or SVG file of at most ${MAX_LOGO_BYTES / 1024} KB`)
    .option('--no-logo', 'remove the logo')
    .option('--accent <colour>', 'accent colour as #rrggbb')
    .option('--no-accent', 'remove the accent colour')
    .option('--help-text <text>', 'plain text of up to 500 characters shown under the form, for example whom to ask for help')
    .option('--no-help-text', 'remove the help text');

  helpers.action<SetOptions>(set, async (session, [rawDomain], options) => {
    const domain = normalizeDomain(rawDomain);
    if (options.name === undefined && options.logo === undefined && options.accent === undefined && options.helpText === undefined) {
      throw new UsageError('nothing to change: give --name, --logo, --accent or --help-text, or their --no-… form');
    }
    const change = toChange(options);
    const installation = await session.open();
    const record = await setBranding(installation.context, session.actor, domain, change);
    session.output.result(brandingView(installation.context, domain, record), (view) => [`Branding of ${view.domain} updated.`, ...brandingText(view)]);
  });

  const show = group.command('show').description('show the branding of a domain, with defaults filled in').argument('<domain>', 'the domain name');

  helpers.action(show, async (session, [rawDomain]) => {
    const domain = normalizeDomain(rawDomain);
    const installation = await session.open();
    await requireDomain(installation.context, domain);
    const record = await getStoredBranding(installation.context, domain);
    session.output.result(brandingView(installation.context, domain, record), brandingText);
  });

  const clear = group.command('clear').description('remove the branding of a domain, so its pages use the default again').argument('<domain>', 'the domain name');

  helpers.action(clear, async (session, [rawDomain]) => {
    const domain = normalizeDomain(rawDomain);
    const installation = await session.open();
    const removed = await clearBranding(installation.context, session.actor, domain);
    session.output.result({ domain, cleared: removed }, (result) =>
      result.cleared ? `Branding of ${result.domain} removed; its pages use the default.` : `${result.domain} had no branding; its pages use the default.`,
    );
  });
}
