import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatCount } from '../core/counts';
import { isAdmin, type WebContext } from './flows';

/** Data every page template receives next to its own: the layout reads these. */
export interface LayoutData {
  readonly title: string;
  readonly issuer: string;
  readonly csrfToken?: string;
  /** The signed-in account; unset before sign-in finishes. */
  readonly signedInAccount?: string;
  readonly stage: string;
  /** True for a signed-in account named in `admins[]`: the layout links the admin pages. */
  readonly isAdmin: boolean;
  readonly notice?: string;
  readonly error?: string;
  readonly formatTime: (ms: number | undefined) => string;
  readonly formatCount: typeof formatCount;
}

/** Formats a time as `2025-01-31 14:05 UTC`, the same for every viewer and in tests. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) {
    return '—';
  }
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Renders a page inside the shared layout, with a CSRF token for its forms. Every panel page
 * is personal and some show secrets, so none may be stored by a browser or proxy cache.
 */
export async function renderPage(
  web: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  data: { title: string; error?: string } & Record<string, unknown>,
  status = 200,
): Promise<FastifyReply> {
  const session = request.session;
  const layout: LayoutData = {
    issuer: web.installation.options.issuer,
    csrfToken: reply.generateCsrf(),
    signedInAccount: session.data.stage === 'signed-in' || session.data.stage === 'setup' ? session.account : undefined,
    stage: session.data.stage,
    isAdmin: session.data.stage === 'signed-in' && isAdmin(web, session.account),
    notice: session.takeNotice(),
    formatTime,
    formatCount,
    ...data,
  };
  reply.header('Cache-Control', 'no-store');
  return reply.code(status).view(`${template}.eta`, layout);
}

/** Headings of the error page for the statuses that a visitor can act on. */
const ERROR_TITLES: Readonly<Record<number, string>> = { 403: 'Access denied', 404: 'Page not found' };

/** Renders the error page, which needs no session (it may follow a failed session load). */
export async function renderErrorPage(web: WebContext, reply: FastifyReply, status: number, message: string): Promise<FastifyReply> {
  reply.header('Cache-Control', 'no-store');
  return reply.code(status).view('error.eta', {
    title: ERROR_TITLES[status] ?? 'Something went wrong',
    issuer: web.installation.options.issuer,
    stage: 'anonymous',
    isAdmin: false,
    formatTime,
    formatCount,
    status,
    message,
  });
}

/** Sets a one-time message for the next page and redirects there (Post/Redirect/Get). */
export function redirectWithNotice(request: FastifyRequest, reply: FastifyReply, url: string, notice?: string): FastifyReply {
  if (notice !== undefined) {
    request.session.data.notice = notice;
    request.session.dirty = true;
  }
  return reply.redirect(url, 303);
}
