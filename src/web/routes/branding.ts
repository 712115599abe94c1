import type { FastifyInstance } from 'fastify';
import { getBranding } from '../../core/branding';
import { isTwoStepError } from '../../core/errors';
import { darken } from '../branding';
import { WebError } from '../errors';
import type { WebContext } from '../flows';

/**
 * Serves `/branding/DOMAIN.css`, which sets a domain's accent colour. The colour is stored
 * only as `#rrggbb`, so it goes into the style sheet as it is. A style sheet, not an inline
 * style, keeps the Content-Security-Policy strict.
 */
export async function registerBrandingRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  app.get('/branding/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    const match = /^([a-z0-9.-]{1,253})\.css$/.exec(file);
    if (!match) {
      throw new WebError(404, 'ERR_NOT_FOUND', 'Page not found.');
    }
    let accent: string;
    try {
      accent = (await getBranding(web.installation.context, match[1])).accent;
    } catch (error) {
      if (isTwoStepError(error, 'ERR_INVALID_INPUT')) {
        throw new WebError(404, 'ERR_NOT_FOUND', 'Page not found.');
      }
      throw error;
    }
    reply.header('Cache-Control', 'no-cache');
    reply.type('text/css; charset=utf-8');
    // ?scope=preview limits the colours to the preview box of the admin page, which must not
    // recolour the admin's own pages.
    const selector = (request.query as { scope?: string }).scope === 'preview' ? '.preview-frame' : ':root';
    return `${selector} { --accent: ${accent}; --accent-dark: ${darken(accent)}; }\n`;
  });
}
