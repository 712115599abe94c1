import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Actor } from '../../core/accounts';
import { WebError } from '../errors';
import { isAdmin, type WebContext } from '../flows';
import { redirectWithNotice } from '../render';

/**
 * Builds the preHandler of every admin page: a signed-in account named in `admins[]` whose
 * session passed a second factor. Policy does not matter here: an admin without a device is
 * turned away, even where 2-Step Verification is optional or off.
 */
export function requireAdmin(web: WebContext): preHandlerAsyncHookHandler {
  return async function adminGuard(request: FastifyRequest, reply: FastifyReply) {
    const { stage, account, secondFactorAt } = request.session.data;
    if (stage !== 'signed-in' || account === undefined) {
      return redirectWithNotice(request, reply, '/sign-in', 'Sign in with an administrator account and its verification code.');
    }
    if (!isAdmin(web, account)) {
      web.installation.context.logger.warn({ event: 'admin-denied', account, ip: request.ip, url: request.url.split('?')[0] }, 'admin page denied: not an administrator');
      throw new WebError(403, 'ERR_FORBIDDEN', 'This page is for administrators only.');
    }
    if (secondFactorAt === undefined) {
      throw new WebError(
        403,
        'ERR_FORBIDDEN',
        'Administrators must sign in with 2-Step Verification. Turn it on in your settings, then sign out and sign in again with your verification code.',
      );
    }
    return undefined;
  };
}

/** Returns the audit actor of an admin action: `admin:ACCOUNT` and the client IP. */
export function adminActor(request: FastifyRequest): Actor {
  return { actor: `admin:${request.session.account}`, ip: request.ip };
}
