import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebError } from '../errors';
import { signInWithCode, signInWithPassword, signOut, verifyCredentials, type SignInNext, type WebContext } from '../flows';
import { requireSession, safeReturnPath } from '../guards';
import { redirectWithNotice, renderPage } from '../render';
import { loadAccountState } from '../../core/state';
import { signInRateLimit } from '../rate-limit';
import { brandingForAccount } from '../branding';

const NEXT_PAGE: Record<SignInNext, string> = { code: '/sign-in/code', setup: '/settings/2sv/start', done: '/settings' };

/** Renders a form page again with the error of a rejected submission; other errors go to the error handler. */
async function renderFormError(
  web: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  template: string,
  data: { title: string } & Record<string, unknown>,
): Promise<FastifyReply> {
  if (!(error instanceof WebError) || error.statusCode >= 500) {
    throw error;
  }
  return renderPage(web, request, reply, template, { ...data, error: error.message }, error.statusCode);
}

/** Password page, code page, sign-out and re-verification. */
export async function registerSignInRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  app.get('/', async (request, reply) => {
    const { stage } = request.session.data;
    if (stage === 'signed-in') {
      return reply.redirect('/settings', 303);
    }
    if (stage === 'setup') {
      return reply.redirect('/settings/2sv/start', 303);
    }
    return reply.redirect('/sign-in', 303);
  });

  app.get('/sign-in', async (request, reply) => {
    if (request.session.data.stage === 'signed-in') {
      return reply.redirect('/settings', 303);
    }
    return renderPage(web, request, reply, 'sign-in', { title: 'Sign in' });
  });

  app.post('/sign-in', { config: { rateLimit: signInRateLimit(web) } }, async (request, reply) => {
    try {
      const next = await signInWithPassword(web, request);
      return reply.redirect(NEXT_PAGE[next], 303);
    } catch (error) {
      return renderFormError(web, request, reply, error, 'sign-in', { title: 'Sign in' });
    }
  });

  app.get('/sign-in/code', async (request, reply) => {
    if (request.session.data.stage !== 'second-factor') {
      return redirectWithNotice(request, reply, '/sign-in', request.session.expired ? 'Your sign-in expired. Start again.' : undefined);
    }
    const branded = await brandingForAccount(web, request.session.account);
    return renderPage(web, request, reply, 'sign-in-code', { title: 'Verification code', signInAccount: request.session.account, ...branded });
  });

  app.post('/sign-in/code', { config: { rateLimit: signInRateLimit(web) } }, async (request, reply) => {
    try {
      const next = await signInWithCode(web, request);
      return reply.redirect(NEXT_PAGE[next], 303);
    } catch (error) {
      if (error instanceof WebError && error.code === 'ERR_SIGN_IN_REQUIRED') {
        return redirectWithNotice(request, reply, '/sign-in', error.message);
      }
      return renderFormError(web, request, reply, error, 'sign-in', { title: 'Sign in' });
    }
  });

  app.post('/sign-out', async (request, reply) => {
    await signOut(web, request);
    return redirectWithNotice(request, reply, '/sign-in', 'You are signed out.');
  });

  const verifyPage = async (request: FastifyRequest, reply: FastifyReply, next: string, error?: unknown) => {
    const { record } = await loadAccountState(web.installation.context, request.session.account!);
    const data = { title: 'Verify it is you', next, enrolled: record.devices.length > 0 };
    if (error !== undefined) {
      return renderFormError(web, request, reply, error, 'verify', data);
    }
    return renderPage(web, request, reply, 'verify', data);
  };

  app.get('/verify', { preHandler: requireSession(web, { api: false, allowSetup: true }) }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return verifyPage(request, reply, safeReturnPath(query.next));
  });

  app.post(
    '/verify',
    { preHandler: requireSession(web, { api: false, allowSetup: true }), config: { rateLimit: signInRateLimit(web) } },
    async (request, reply) => {
      const next = safeReturnPath((request.body as Record<string, unknown> | undefined)?.next);
      try {
        await verifyCredentials(web, request);
        return reply.redirect(next, 303);
      } catch (error) {
        return verifyPage(request, reply, next, error);
      }
    },
  );
}

export { renderFormError };
