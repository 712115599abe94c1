import { normalizeAccount, normalizeDomain } from './account';
import { writeAuditEvent, updateAccount, type Actor } from './accounts';
import type { TwoStepContext } from './context';
import { TwoStepError } from './errors';
import { keys, type ClassRecord, type DomainRecord, type PolicySetting } from './model';
import { parsePolicySetting } from './policy';

export type PolicyTarget =
  | { readonly level: 'global' }
  | { readonly level: 'domain'; readonly domain: string }
  | { readonly level: 'class'; readonly name: string }
  | { readonly level: 'account'; readonly account: string };

const CLASS_NAME = /^[a-z0-9][a-z0-9_.-]{0,39}$/;

/**
 * Validates an account class name.
 * @throws TwoStepError ERR_INVALID_NAME stating the rule.
 */
export function parseClassName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!CLASS_NAME.test(name)) {
    throw new TwoStepError('ERR_INVALID_NAME', `invalid class name "${String(raw).slice(0, 40)}": use 1-40 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return name;
}

/** Sets the policy at one level. Domains and classes must exist first. */
export async function setPolicy(context: TwoStepContext, actor: Actor, target: PolicyTarget, rawSetting: string): Promise<void> {
  const setting = parsePolicySetting(rawSetting);
  const { store } = context;
  let subject: string;
  switch (target.level) {
    case 'global':
      await store.set(keys.globalPolicy, setting);
      subject = 'global';
      break;
    case 'domain': {
      const domain = normalizeDomain(target.domain);
      const updated = await store.update<DomainRecord>(keys.domain(domain), (current) => (current ? { ...current, policy: setting } : undefined));
      if (!updated) {
        throw new TwoStepError('ERR_NOT_FOUND', `domain ${domain} not found: add it first with "twostep domain add ${domain}"`);
      }
      subject = `domain ${domain}`;
      break;
    }
    case 'class': {
      const name = parseClassName(target.name);
      const updated = await store.update<ClassRecord>(keys.accountClass(name), (current) => (current ? { ...current, policy: setting } : undefined));
      if (!updated) {
        throw new TwoStepError('ERR_NOT_FOUND', `class ${name} not found: create it first with "twostep class create ${name}"`);
      }
      subject = `class ${name}`;
      break;
    }
    case 'account': {
      const account = normalizeAccount(target.account);
      await updateAccount(context, account, (record) => ({ ...record, policy: setting }));
      subject = `account ${account}`;
      break;
    }
  }
  await context.store.appendAudit({
    at: context.now(),
    actor: actor.actor,
    action: 'policy-set',
    account: target.level === 'account' ? normalizeAccount(target.account) : undefined,
    ip: actor.ip,
    detail: `${subject}: ${setting}`,
  });
  context.logger.info({ event: 'audit', actor: actor.actor, action: 'policy-set', target: subject, policy: setting }, 'audit: policy-set');
}

/** Returns the global policy stored by the admin tools, or undefined when twostep.ini decides. */
export async function getStoredGlobalPolicy(context: TwoStepContext): Promise<PolicySetting | undefined> {
  return context.store.get<PolicySetting>(keys.globalPolicy);
}

/**
 * Adds a domain with policy inherit.
 * @throws TwoStepError ERR_CONFLICT when the domain exists, which leaves its policy unchanged.
 */
export async function addDomain(context: TwoStepContext, actor: Actor, rawDomain: string): Promise<DomainRecord> {
  const domain = normalizeDomain(rawDomain);
  const record = await context.store.update<DomainRecord>(keys.domain(domain), (current) => {
    if (current) {
      throw new TwoStepError('ERR_CONFLICT', `domain ${domain} already exists`);
    }
    return { domain, policy: 'inherit', createdAt: context.now() };
  });
  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'domain-added', ip: actor.ip, detail: domain });
  return record as DomainRecord;
}

export async function removeDomain(context: TwoStepContext, actor: Actor, rawDomain: string): Promise<void> {
  const domain = normalizeDomain(rawDomain);
  if (!(await context.store.delete(keys.domain(domain)))) {
    throw new TwoStepError('ERR_NOT_FOUND', `domain ${domain} not found`);
  }
  // A domain added again later starts with the default branding.
  await context.store.delete(keys.branding(domain));
  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'domain-removed', ip: actor.ip, detail: domain });
}

export async function listDomains(context: TwoStepContext): Promise<DomainRecord[]> {
  const found = await context.store.listKeys(keys.domainPrefix);
  const records = await context.store.getMany<DomainRecord>(found);
  return records.filter((record): record is DomainRecord => record !== undefined).sort((a, b) => a.domain.localeCompare(b.domain));
}

export async function createClass(context: TwoStepContext, actor: Actor, rawName: string, rawSetting = 'inherit'): Promise<ClassRecord> {
  const name = parseClassName(rawName);
  const policy = parsePolicySetting(rawSetting);
  const record = await context.store.update<ClassRecord>(keys.accountClass(name), (current) => {
    if (current) {
      throw new TwoStepError('ERR_CONFLICT', `class ${name} already exists`);
    }
    return { name, policy, createdAt: context.now() };
  });
  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'class-created', ip: actor.ip, detail: name });
  return record as ClassRecord;
}

/** Deletes a class; its members fall back to the domain and global levels. */
export async function deleteClass(context: TwoStepContext, actor: Actor, rawName: string): Promise<void> {
  const name = parseClassName(rawName);
  if (!(await context.store.delete(keys.accountClass(name)))) {
    throw new TwoStepError('ERR_NOT_FOUND', `class ${name} not found`);
  }
  await context.store.appendAudit({ at: context.now(), actor: actor.actor, action: 'class-deleted', ip: actor.ip, detail: name });
}

export async function listClasses(context: TwoStepContext): Promise<ClassRecord[]> {
  const found = await context.store.listKeys(keys.classPrefix);
  const records = await context.store.getMany<ClassRecord>(found);
  return records.filter((record): record is ClassRecord => record !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

/** Puts an account in a class (an account belongs to at most one). */
export async function assignClass(context: TwoStepContext, actor: Actor, rawAccount: string, rawName: string): Promise<void> {
  const account = normalizeAccount(rawAccount);
  const name = parseClassName(rawName);
  if (!(await context.store.get<ClassRecord>(keys.accountClass(name)))) {
    throw new TwoStepError('ERR_NOT_FOUND', `class ${name} not found: create it first with "twostep class create ${name}"`);
  }
  await updateAccount(context, account, (record) => ({ ...record, accountClass: name }));
  await writeAuditEvent(context, actor, 'class-assigned', account, name);
}

export async function unassignClass(context: TwoStepContext, actor: Actor, rawAccount: string): Promise<void> {
  const account = normalizeAccount(rawAccount);
  await updateAccount(context, account, (record) => {
    const { accountClass: _removed, ...rest } = record;
    return rest;
  });
  await writeAuditEvent(context, actor, 'class-unassigned', account);
}
