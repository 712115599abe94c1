import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeDomain } from '../../core/account';
import { clearBranding, effectiveBranding, getStoredBranding, MAX_HELP_TEXT_LENGTH, MAX_LOGO_BYTES, MAX_PRODUCT_NAME_LENGTH, requireDomain, setBranding, type BrandingChange } from '../../core/branding';
import { listDomains } from '../../core/directory';
import { WebError, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { readText } from '../input';
import { redirectWithNotice } from '../render';
import { adminActor } from './guard';
import { renderAdminFormError, renderAdminPage } from './render';

/** A 64 KB logo is about 88 KB in base64, plus the other fields. */
const BRANDING_BODY_LIMIT = 128 * 1024;
const MAX_LOGO_FIELD = Math.ceil((MAX_LOGO_BYTES * 4) / 3) + 100;

/**
 * Reads the logo field: a `data:` URL with base64 content, as the page's script makes from
 * the chosen file (or as pasted without the script). The bytes are checked by the core.
 */
function readLogoField(body: unknown): BrandingChange['logo'] {
  if (readText(body, 'remove_logo', 'remove logo', 10, false) === 'yes') {
    return null;
  }
  const value = readText(body, 'logo', 'logo', MAX_LOGO_FIELD, false).trim();
  if (value === '') {
    return undefined;
  }
  const match = /^data:image\/(?:png|jpeg|svg\+xml);base64,([A-Za-z0-9+/=\s]+)$/.exec(value);
  if (!match) {
    throw new WebError(400, 'ERR_INVALID_INPUT', 'Invalid logo: expected a PNG, JPEG or SVG file, sent as a base64 data: URL.');
  }
  return { bytes: Buffer.from(match[1].replace(/\s+/g, ''), 'base64') };
}

/** Reads the branding form. An empty field removes the value, so the default applies again. */
function readChange(body: unknown): BrandingChange {
  const optional = (field: string, label: string, max: number) => {
    const value = readText(body, field, label, max + 200, false);
    return value.trim() === '' ? null : value;
  };
  return {
    productName: optional('product_name', 'product name', MAX_PRODUCT_NAME_LENGTH),
    accent: optional('accent', 'accent colour', 7),
    helpText: optional('help_text', 'help text', MAX_HELP_TEXT_LENGTH),
    logo: readLogoField(body),
  };
}

/** Branding per domain: a list of domains, and a form with a preview for each. */
export async function registerAdminBrandingRoutes(admin: FastifyInstance, web: WebContext): Promise<void> {
  admin.get('/branding', async (request, reply) => {
    const { context } = web.installation;
    const domains = await listDomains(context);
    const rows = [];
    for (const entry of domains) {
      rows.push(effectiveBranding(context, entry.domain, await getStoredBranding(context, entry.domain)));
    }
    return renderAdminPage(web, request, reply, 'admin/branding-list', { title: 'Branding', section: 'branding', rows });
  });

  const formData = async (request: FastifyRequest) => {
    const { context } = web.installation;
    let domain: string;
    try {
      domain = normalizeDomain(String((request.params as { domain: string }).domain));
      await requireDomain(context, domain);
    } catch (error) {
      throw toWebError(error);
    }
    const stored = await getStoredBranding(context, domain);
    return {
      title: `Branding of ${domain}`,
      section: 'branding',
      domain,
      stored: stored ?? { domain },
      preview: effectiveBranding(context, domain, stored),
      brandingCss: `/branding/${encodeURIComponent(domain)}.css?scope=preview`,
      limits: { name: MAX_PRODUCT_NAME_LENGTH, helpText: MAX_HELP_TEXT_LENGTH, logoKb: MAX_LOGO_BYTES / 1024 },
    };
  };

  admin.get('/branding/:domain', async (request, reply) => renderAdminPage(web, request, reply, 'admin/branding', await formData(request)));

  admin.post('/branding/:domain', { bodyLimit: BRANDING_BODY_LIMIT }, async (request, reply) => {
    const data = await formData(request);
    try {
      await setBranding(web.installation.context, adminActor(request), data.domain, readChange(request.body));
    } catch (error) {
      return renderAdminFormError(web, request, reply, error, 'admin/branding', data);
    }
    return redirectWithNotice(request, reply, `/admin/branding/${encodeURIComponent(data.domain)}`, `Branding of ${data.domain} saved.`);
  });

  admin.post('/branding/:domain/clear', async (request, reply) => {
    const data = await formData(request);
    const removed = await clearBranding(web.installation.context, adminActor(request), data.domain).catch((error: unknown) => {
      throw toWebError(error);
    });
    return redirectWithNotice(request, reply, `/admin/branding/${encodeURIComponent(data.domain)}`, removed ? `Branding of ${data.domain} removed: the default applies.` : `${data.domain} had no branding.`);
  });
}
