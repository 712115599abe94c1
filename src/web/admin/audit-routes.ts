import type { FastifyInstance } from 'fastify';
import { normalizeAccount } from '../../core/account';
import { parseSince } from '../../cli/parse';
import { WebError, sentence, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { renderAdminFormError, renderAdminPage } from './render';

const PAGE_SIZE = 200;
/** Events read from the store before the action filter applies, so a rare action is still found. */
const SCAN_LIMIT = 5000;

function text(query: Record<string, unknown>, name: string): string {
  const value = query[name];
  return typeof value === 'string' ? value.trim() : '';
}

/** Registers the audit log page: events newest first, filtered by account, action and time. */
export async function registerAdminAuditRoutes(admin: FastifyInstance, web: WebContext): Promise<void> {
  admin.get('/audit', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const filters = { account: text(query, 'account'), action: text(query, 'action'), since: text(query, 'since') };
    const data = { title: 'Audit log', section: 'audit', filters, events: [] as unknown[], pageSize: PAGE_SIZE };

    let account: string | undefined;
    let since: number | undefined;
    try {
      account = filters.account === '' ? undefined : normalizeAccount(filters.account);
      since = filters.since === '' ? undefined : parseSince(filters.since, web.installation.context.now());
      if (filters.action !== '' && !/^[a-z0-9-]{1,40}$/.test(filters.action)) {
        throw new WebError(400, 'ERR_INVALID_INPUT', 'Invalid action: use the lower-case name shown in the log, such as device-added.');
      }
    } catch (error) {
      const converted = error instanceof WebError ? error : toWebError(error);
      const shown = converted instanceof WebError ? converted : new WebError(400, 'ERR_INVALID_INPUT', sentence((error as Error).message.replace('--since', 'since')));
      return renderAdminFormError(web, request, reply, shown, 'admin/audit', data);
    }

    const scanned = await web.installation.context.store.listAudit({ account, since, limit: filters.action === '' ? PAGE_SIZE : SCAN_LIMIT });
    const events = (filters.action === '' ? scanned : scanned.filter((event) => event.action === filters.action)).slice(0, PAGE_SIZE);
    return renderAdminPage(web, request, reply, 'admin/audit', { ...data, events });
  });
}
