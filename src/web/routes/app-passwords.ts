import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SCOPES } from '../../core/model';
import { accountStatus, createAppPasswordFromForm, revokeOneAppPassword, type WebContext } from '../flows';
import { requireSession } from '../guards';
import { readId } from '../input';
import { redirectWithNotice, renderPage } from '../render';
import { renderFormError } from './sign-in';

/** App passwords: list, create (shown once) and revoke. */
export async function registerAppPasswordRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  const verified = requireSession(web, { api: false, recentlyVerified: true, returnTo: '/settings/app-passwords' });

  const listPage = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const status = await accountStatus(web, request);
    const data = { title: 'App passwords', status, scopes: SCOPES };
    if (error !== undefined) {
      return renderFormError(web, request, reply, error, 'app-passwords', data);
    }
    return renderPage(web, request, reply, 'app-passwords', data);
  };

  app.get('/settings/app-passwords', { preHandler: verified }, async (request, reply) => listPage(request, reply));

  app.post('/settings/app-passwords', { preHandler: verified }, async (request, reply) => {
    try {
      const created = await createAppPasswordFromForm(web, request);
      return renderPage(web, request, reply, 'app-password-created', { title: 'App password created', created });
    } catch (error) {
      return listPage(request, reply, error);
    }
  });

  app.post('/settings/app-passwords/:id/revoke', { preHandler: verified }, async (request, reply) => {
    const id = readId((request.params as Record<string, unknown>).id, 'app password');
    const name = await revokeOneAppPassword(web, request, id);
    return redirectWithNotice(request, reply, '/settings/app-passwords', `App password "${name}" revoked.`);
  });
}
