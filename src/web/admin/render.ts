import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebError, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { renderPage } from '../render';

/** Renders an admin page: the layout adds the admin style sheet and the section tabs. */
export function renderAdminPage(
  web: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  data: { title: string; section: string } & Record<string, unknown>,
  status = 200,
): Promise<FastifyReply> {
  return renderPage(web, request, reply, template, { adminPage: true, ...data }, status);
}

/** Renders an admin form page again with the message of a rejected submission; server faults go to the error handler. */
export async function renderAdminFormError(
  web: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  template: string,
  data: { title: string; section: string } & Record<string, unknown>,
): Promise<FastifyReply> {
  const converted = toWebError(error);
  if (!(converted instanceof WebError) || converted.statusCode >= 500) {
    throw converted;
  }
  return renderAdminPage(web, request, reply, template, { ...data, error: converted.message }, converted.statusCode);
}
