import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addDomain, createClass, deleteClass, getStoredGlobalPolicy, listClasses, listDomains, removeDomain, setPolicy, type PolicyTarget } from '../../core/directory';
import { WebError, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { readText } from '../input';
import { redirectWithNotice } from '../render';
import { POLICY_CHOICES } from './account-actions';
import { adminActor } from './guard';
import { renderAdminFormError, renderAdminPage } from './render';

const PAGE = '/admin/policy';

async function policyPageData(web: WebContext) {
  const { context, options } = web.installation;
  return {
    title: 'Policy, domains and classes',
    section: 'policy',
    storedGlobal: (await getStoredGlobalPolicy(context)) ?? 'inherit',
    iniGlobal: options.globalPolicy,
    domains: await listDomains(context),
    classes: await listClasses(context),
    policyChoices: POLICY_CHOICES,
  };
}

function readPolicy(body: unknown): string {
  const value = readText(body, 'policy', 'policy', 20);
  if (!POLICY_CHOICES.includes(value)) {
    throw new WebError(400, 'ERR_INVALID_POLICY', `Invalid policy "${value}": choose ${POLICY_CHOICES.join(', ')}.`);
  }
  return value;
}

/** Checks the "I am sure" box of a removal form, because a removal cannot be undone. */
function requireConfirmation(body: unknown, what: string): void {
  if (readText(body, 'confirm', 'confirmation', 10, false) !== 'yes') {
    throw new WebError(400, 'ERR_INVALID_INPUT', `Tick the confirmation box to ${what}.`);
  }
}

/** Registers the policy page: the global, domain and class levels, and adding or removing domains and classes. */
export async function registerAdminDirectoryRoutes(admin: FastifyInstance, web: WebContext): Promise<void> {
  admin.get('/policy', async (request, reply) => renderAdminPage(web, request, reply, 'admin/policy', await policyPageData(web)));

  /** Runs one change and goes back to the page, or shows the page again with the error. */
  const change = (run: (request: FastifyRequest) => Promise<string>) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const notice = await run(request);
      return redirectWithNotice(request, reply, PAGE, notice);
    } catch (error) {
      return renderAdminFormError(web, request, reply, toWebError(error), 'admin/policy', await policyPageData(web));
    }
  };
  const param = (request: FastifyRequest, name: string) => String((request.params as Record<string, string>)[name]);
  const set = async (request: FastifyRequest, target: PolicyTarget, label: string) => {
    const value = readPolicy(request.body);
    await setPolicy(web.installation.context, adminActor(request), target, value);
    return `Policy of ${label} set to ${value}.`;
  };

  admin.post('/policy/global', change((request) => set(request, { level: 'global' }, 'the global level')));
  admin.post('/domains/:domain/policy', change((request) => set(request, { level: 'domain', domain: param(request, 'domain') }, `domain ${param(request, 'domain')}`)));
  admin.post('/classes/:name/policy', change((request) => set(request, { level: 'class', name: param(request, 'name') }, `class ${param(request, 'name')}`)));

  admin.post(
    '/domains',
    change(async (request) => {
      const record = await addDomain(web.installation.context, adminActor(request), readText(request.body, 'domain', 'domain', 253));
      return `Domain ${record.domain} added.`;
    }),
  );
  admin.post(
    '/domains/:domain/remove',
    change(async (request) => {
      requireConfirmation(request.body, 'remove the domain');
      await removeDomain(web.installation.context, adminActor(request), param(request, 'domain'));
      return `Domain ${param(request, 'domain')} removed.`;
    }),
  );
  admin.post(
    '/classes',
    change(async (request) => {
      const policy = readText(request.body, 'policy', 'policy', 20, false) || 'inherit';
      const record = await createClass(web.installation.context, adminActor(request), readText(request.body, 'name', 'class name', 40), policy);
      return `Class ${record.name} created.`;
    }),
  );
  admin.post(
    '/classes/:name/delete',
    change(async (request) => {
      requireConfirmation(request.body, 'delete the class');
      await deleteClass(web.installation.context, adminActor(request), param(request, 'name'));
      return `Class ${param(request, 'name')} deleted.`;
    }),
  );
}
