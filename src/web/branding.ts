import { domainOf } from '../core/account';
import { DEFAULT_ACCENT, effectiveBranding, getBranding, type EffectiveBranding } from '../core/branding';
import type { WebContext } from './flows';

/** Layout and page data of a branded page. Templates print every value with `<%= %>`, which escapes it. */
export interface BrandingData {
  readonly issuer: string;
  readonly branding: EffectiveBranding;
  /** The domain's style sheet with its accent colour; unset for the default. */
  readonly brandingCss?: string;
}

/**
 * Returns the branding of an account's domain for the verification-code and pairing pages.
 * A store fault falls back to the default branding, because the page must still work.
 */
export async function brandingForAccount(web: WebContext, account: string | undefined): Promise<BrandingData> {
  const { context } = web.installation;
  if (account === undefined) {
    return { issuer: context.options.issuer, branding: effectiveBranding(context, '', undefined) };
  }
  const domain = domainOf(account);
  let branding: EffectiveBranding;
  try {
    branding = await getBranding(context, domain);
  } catch (error) {
    context.logger.error({ event: 'branding', domain, cause: (error as Error).message }, 'branding could not be read: using the default');
    branding = effectiveBranding(context, domain, undefined);
  }
  return {
    issuer: branding.productName,
    branding,
    brandingCss: branding.accent === DEFAULT_ACCENT ? undefined : `/branding/${encodeURIComponent(domain)}.css`,
  };
}

/** Darkens a `#rrggbb` colour by 25 % for hover states, close to the default style sheet's hover colour. */
export function darken(accent: string): string {
  const channels = [1, 3, 5].map((start) => Math.round(parseInt(accent.slice(start, start + 2), 16) * 0.75));
  return `#${channels.map((value) => value.toString(16).padStart(2, '0')).join('')}`;
}
