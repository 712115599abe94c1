import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeAccount } from '../../core/account';
import { getAccountStatus } from '../../core/accounts';
import { formatCount } from '../../core/counts';
import { loadAccountState } from '../../core/state';
import { WebError, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { redirectWithNotice } from '../render';
import { renderAdminFormError, renderAdminPage } from './render';
import { ACCOUNT_ACTIONS, POLICY_CHOICES, actionTarget, classChoices, type ActionContext } from './account-actions';
import { registerAdminAuditRoutes } from './audit-routes';
import { registerAdminBrandingRoutes } from './branding-routes';
import { registerAdminDirectoryRoutes } from './directory-routes';
import { adminActor, requireAdmin } from './guard';
import { ACCOUNT_STATES, accountsCsv, accountsJson, listAccounts, readFilters, type AccountFilters } from './list';

/**
 * Reads the account from the URL and checks that the passwd file or the store has it, so a
 * typing mistake does not create state for an account that does not exist.
 */
async function requireKnownAccount(web: WebContext, raw: unknown): Promise<string> {
  let account: string;
  try {
    account = normalizeAccount(String(raw));
  } catch (error) {
    throw toWebError(error);
  }
  const { installation } = web;
  const { stored } = await loadAccountState(installation.context, account);
  if (!stored && !(await installation.backend.hasAccount(account))) {
    throw new WebError(404, 'ERR_NOT_FOUND', `Account ${account} not found in the passwd file or the TwoStep store.`);
  }
  return account;
}

function accountUrl(account: string): string {
  return `/admin/accounts/${encodeURIComponent(account)}`;
}

function filterQuery(filters: AccountFilters): string {
  const params = new URLSearchParams();
  if (filters.domain) params.set('domain', filters.domain);
  if (filters.accountClass) params.set('class', filters.accountClass);
  if (filters.state) params.set('state', filters.state);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Describes an export for the audit log, e.g. `csv, 3 accounts, filter domain=example.test`. */
function exportDetail(format: string, count: number, filters: AccountFilters): string {
  const filter = filterQuery(filters).replace(/^\?/, '');
  return `${format}, ${formatCount(count, 'account')}${filter === '' ? '' : `, filter ${filter}`}`;
}

async function exportAccounts(web: WebContext, request: FastifyRequest, reply: FastifyReply, format: 'csv' | 'json'): Promise<FastifyReply> {
  const filters = readFilters(request.query as Record<string, unknown>);
  const rows = await listAccounts(web.installation, filters);
  const { actor, ip } = adminActor(request);
  await web.installation.context.store.appendAudit({ at: web.installation.context.now(), actor, action: 'accounts-exported', ip, detail: exportDetail(format, rows.length, filters) });
  reply.header('Cache-Control', 'no-store');
  reply.header('Content-Disposition', `attachment; filename="twostep-accounts.${format}"`);
  if (format === 'csv') {
    return reply.type('text/csv; charset=utf-8').send(accountsCsv(rows));
  }
  return reply.type('application/json; charset=utf-8').send(accountsJson(rows));
}

async function registerAccountRoutes(admin: FastifyInstance, web: WebContext): Promise<void> {
  admin.get('/', async (_request, reply) => reply.redirect('/admin/accounts', 303));

  admin.get('/accounts', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const classes = await classChoices(web);
    const data = { title: 'Accounts', section: 'accounts', rows: [] as unknown[], filters: { domain: query.domain ?? '', class: query.class ?? '', state: query.state ?? '' }, states: ACCOUNT_STATES, classes, exportQuery: '' };
    let filters: AccountFilters;
    try {
      filters = readFilters(query);
    } catch (error) {
      return renderAdminFormError(web, request, reply, error, 'admin/accounts', data);
    }
    const rows = await listAccounts(web.installation, filters);
    return renderAdminPage(web, request, reply, 'admin/accounts', { ...data, rows, exportQuery: filterQuery(filters), accountUrl });
  });

  admin.get('/accounts.csv', async (request, reply) => exportAccounts(web, request, reply, 'csv'));
  admin.get('/accounts.json', async (request, reply) => exportAccounts(web, request, reply, 'json'));

  admin.get('/accounts/:account', async (request, reply) => {
    const account = await requireKnownAccount(web, (request.params as { account: string }).account);
    const status = await getAccountStatus(web.installation.context, account);
    const inPasswdFile = await web.installation.backend.hasAccount(account);
    return renderAdminPage(web, request, reply, 'admin/account', {
      title: account,
      section: 'accounts',
      status,
      inPasswdFile,
      lockAfter: web.installation.options.lockAfter,
      now: web.installation.context.now(),
      base: accountUrl(account),
    });
  });

  const confirmationPage = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const params = request.params as { account: string; action: string };
    const action = Object.hasOwn(ACCOUNT_ACTIONS, params.action) ? ACCOUNT_ACTIONS[params.action] : undefined;
    if (!action) {
      throw new WebError(404, 'ERR_NOT_FOUND', 'Page not found.');
    }
    const account = await requireKnownAccount(web, params.account);
    const status = await getAccountStatus(web.installation.context, account);
    const source = request.method === 'GET' ? (request.query as Record<string, unknown>) : (request.body as Record<string, unknown> | undefined) ?? {};
    const target = actionTarget(action, status, source.id);
    const context: ActionContext = { web, request, account, status };
    const data = {
      title: action.title,
      section: 'accounts',
      account,
      action,
      actionName: params.action,
      description: action.describe(context, target.name),
      targetId: target.id,
      base: accountUrl(account),
      policyChoices: POLICY_CHOICES,
      currentPolicy: status.accountPolicy,
      classes: action.fields.includes('class') ? await classChoices(web) : [],
      currentClass: status.accountClass ?? '',
    };
    if (error !== undefined) {
      return renderAdminFormError(web, request, reply, error, 'admin/confirm', data);
    }
    return { action, context, target, data };
  };

  admin.get('/accounts/:account/:action', async (request, reply) => {
    const page = await confirmationPage(request, reply);
    if (!('action' in page)) {
      return page;
    }
    return renderAdminPage(web, request, reply, 'admin/confirm', page.data);
  });

  admin.post('/accounts/:account/:action', async (request, reply) => {
    const page = await confirmationPage(request, reply);
    if (!('action' in page)) {
      return page;
    }
    let result;
    try {
      result = await page.action.perform(page.context, request.body, page.target.id);
    } catch (error) {
      return renderAdminFormError(web, request, reply, error, 'admin/confirm', page.data);
    }
    if (result.kind === 'notice') {
      return redirectWithNotice(request, reply, accountUrl(page.context.account), result.notice);
    }
    return renderAdminPage(web, request, reply, result.template, { title: result.title, section: 'accounts', account: page.context.account, base: accountUrl(page.context.account), ...result.data });
  });
}

/** Registers the admin pages under /admin, each behind `requireAdmin`. */
export async function registerAdminRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  await app.register(
    async (admin) => {
      admin.addHook('preHandler', requireAdmin(web));
      await registerAccountRoutes(admin, web);
      await registerAdminDirectoryRoutes(admin, web);
      await registerAdminBrandingRoutes(admin, web);
      await registerAdminAuditRoutes(admin, web);
    },
    { prefix: '/admin' },
  );
}
