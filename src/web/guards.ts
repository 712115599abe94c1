import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { WebError } from './errors';
import { isRecentlyVerified, type WebContext } from './flows';
import { redirectWithNotice } from './render';

export interface GuardOptions {
  /** JSON API routes reply with an error, and HTML routes redirect. */
  readonly api: boolean;
  /** Reachable in the mandatory setup stage, before the first device is confirmed. */
  readonly allowSetup?: boolean;
  /** Needs the credentials re-verified within `[session] reverify_window`. */
  readonly recentlyVerified?: boolean;
  /** For HTML routes: where to go after re-verification (default: the requested page for GET). */
  readonly returnTo?: string;
}

/** Paths that may follow a re-verification; anything else falls back to the settings page. */
export function safeReturnPath(raw: unknown): string {
  return typeof raw === 'string' && /^\/settings(\/[a-z0-9-]+)*$/.test(raw) ? raw : '/settings';
}

/** Builds the preHandler that admits only a signed-in session in the right state. */
export function requireSession(web: WebContext, options: GuardOptions): preHandlerAsyncHookHandler {
  return async function guard(request: FastifyRequest, reply: FastifyReply) {
    const { stage } = request.session.data;
    if (stage !== 'signed-in' && !(stage === 'setup' && options.allowSetup)) {
      if (stage === 'setup') {
        if (options.api) {
          throw new WebError(403, 'ERR_SETUP_REQUIRED', 'Your account must turn on 2-Step Verification first: pair a device with POST /api/2sv/pairing.');
        }
        return reply.redirect('/settings/2sv/start', 303);
      }
      if (options.api) {
        throw new WebError(401, 'ERR_SIGN_IN_REQUIRED', request.session.expired ? 'Your session expired: sign in again.' : 'Sign in first.');
      }
      return redirectWithNotice(request, reply, '/sign-in', request.session.expired ? 'Your session expired. Sign in again.' : undefined);
    }

    if (options.recentlyVerified && !isRecentlyVerified(web, request)) {
      if (options.api) {
        throw new WebError(403, 'ERR_VERIFY_REQUIRED', 'Verify your password (and verification code) again with POST /api/verify first.');
      }
      const target = options.returnTo ?? (request.method === 'GET' ? request.url.split('?')[0] : '/settings');
      return reply.redirect(`/verify?next=${encodeURIComponent(safeReturnPath(target))}`, 303);
    }
    return undefined;
  };
}
