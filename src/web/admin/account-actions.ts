// The per-account admin actions. Each has a confirmation page (GET), and the POST of that
// page's form, with its CSRF token, carries it out. The core functions write the audit
// events with the admin as actor and the client IP.
import type { FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import {
  provisionSecretKey,
  resetSecretKey,
  revokeAllDevices,
  revokeAppPassword,
  revokeDevice,
  unlockAccount,
  viewCurrentCodes,
  type AccountStatus,
} from '../../core/accounts';
import { formatCount } from '../../core/counts';
import { assignClass, listClasses, setPolicy, unassignClass } from '../../core/directory';
import type { ClassRecord } from '../../core/model';
import { WebError, toWebError } from '../errors';
import type { WebContext } from '../flows';
import { MAX_NAME_FIELD_LENGTH, readId, readText } from '../input';
import { adminActor } from './guard';

/** The outcome of an action: back to the account with a notice, or a page that shows a result once. */
export type ActionResult =
  | { readonly kind: 'notice'; readonly notice: string }
  | { readonly kind: 'page'; readonly template: string; readonly title: string; readonly data: Record<string, unknown> };

export interface ActionContext {
  readonly web: WebContext;
  readonly request: FastifyRequest;
  readonly account: string;
  readonly status: AccountStatus;
}

/** An input field of a confirmation form. */
export type ActionField = 'secret-key' | 'device-name' | 'policy' | 'class';

export interface AccountAction {
  readonly title: string;
  readonly button: string;
  readonly danger: boolean;
  readonly fields: readonly ActionField[];
  /** Whether the action names one device or app password by `id`. */
  readonly needsId?: 'device' | 'app password';
  describe(context: ActionContext, target?: string): string;
  perform(context: ActionContext, body: unknown, id?: string): Promise<ActionResult>;
}

/** Maximum length of the secret key field: room for 128 base32 characters with spaces. */
const MAX_SECRET_KEY_FIELD = 200;
const POLICY_CHOICES = ['inherit', 'disabled', 'optional', 'mandatory'];

async function core<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toWebError(error);
  }
}

function deviceName(body: unknown, fallback: string): string {
  return readText(body, 'name', 'device name', MAX_NAME_FIELD_LENGTH, false).trim() || fallback;
}

export const ACCOUNT_ACTIONS: Readonly<Record<string, AccountAction>> = {
  provision: {
    title: 'Provision an existing secret key',
    button: 'Add the device',
    danger: false,
    fields: ['secret-key', 'device-name'],
    describe: ({ account }) => `Adds a device with a secret key that already exists (a hardware token or an old authenticator) to ${account}. The key is 16 or more base32 characters (A-Z and 2-7); spaces and hyphens are ignored.`,
    async perform({ web, request, account }, body) {
      const key = readText(body, 'secret_key', 'secret key', MAX_SECRET_KEY_FIELD);
      const device = await core(() => provisionSecretKey(web.installation.context, adminActor(request), account, key, deviceName(body, 'Provisioned device')));
      return { kind: 'notice', notice: `Device "${device.name}" added to ${account}.` };
    },
  },
  'reset-secret-key': {
    title: 'Reset the secret key',
    button: 'Replace all devices',
    danger: true,
    fields: ['device-name'],
    describe: ({ account, status }) =>
      status.devices.length === 0
        ? `Adds a device with a new secret key to ${account}, which has no device now. The key is shown once on the next page.`
        : `Replaces ${status.devices.length === 1 ? 'the device' : `all ${formatCount(status.devices.length, 'device')}`} of ${account} with one new secret key, shown once on the next page. Codes from the old devices stop working, and mail clients that signed in with them must sign in again.`,
    async perform({ web, request, account }, body) {
      const reset = await core(() => resetSecretKey(web.installation.context, adminActor(request), account, deviceName(body, 'Authenticator')));
      const qrSvg = await QRCode.toString(reset.otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { kind: 'page', template: 'admin/secret-key', title: 'New secret key', data: { formattedKey: reset.formattedKey, otpauthUri: reset.otpauthUri, qrSvg, deviceName: reset.device.name } };
    },
  },
  'view-code': {
    title: 'View the current verification code',
    button: 'Show the code',
    danger: false,
    fields: [],
    describe: ({ account }) => `Shows the verification code that each device of ${account} shows now, for example to read it to the user on the phone. Viewing it is written to the audit log.`,
    async perform({ web, request, account }) {
      const codes = await core(() => viewCurrentCodes(web.installation.context, adminActor(request), account));
      return { kind: 'page', template: 'admin/codes', title: 'Current verification codes', data: { codes } };
    },
  },
  'revoke-devices': {
    title: 'Revoke all devices',
    button: 'Revoke all devices',
    danger: true,
    fields: [],
    describe: ({ account, status }) =>
      status.devices.length === 0
        ? `${account} has no device to revoke.`
        : `Removes ${status.devices.length === 1 ? 'the device' : `all ${formatCount(status.devices.length, 'device')}`} and the recovery codes of ${account}. With policy ${status.policy.policy}, ${status.policy.policy === 'mandatory' ? 'the next sign-in must set up 2-Step Verification again' : '2-Step Verification is then off'}.`,
    async perform({ web, request, account }) {
      const count = await core(() => revokeAllDevices(web.installation.context, adminActor(request), account));
      return { kind: 'notice', notice: count === 0 ? `${account} has no device to revoke; nothing changed.` : `${formatCount(count, 'device')} of ${account} revoked.` };
    },
  },
  'revoke-device': {
    title: 'Revoke a device',
    button: 'Revoke the device',
    danger: true,
    fields: [],
    needsId: 'device',
    describe: ({ account }, target) => `Removes the device "${target}" from ${account}. Its codes stop working.`,
    async perform({ web, request, account }, _body, id) {
      const device = await core(() => revokeDevice(web.installation.context, adminActor(request), account, id!));
      return { kind: 'notice', notice: `Device "${device.name}" of ${account} revoked.` };
    },
  },
  unlock: {
    title: 'Unlock after failed codes',
    button: 'Unlock',
    danger: false,
    fields: [],
    describe: ({ account, status }) => `Clears the count of failed verification codes of ${account} (${status.secondFactorFailures} now${status.locked ? ', locked' : ''}).`,
    async perform({ web, request, account }) {
      const unlocked = await core(() => unlockAccount(web.installation.context, adminActor(request), account));
      return { kind: 'notice', notice: unlocked ? `${account} unlocked.` : `${account} has no failed verification codes; nothing changed.` };
    },
  },
  'revoke-app-password': {
    title: 'Revoke an app password',
    button: 'Revoke the app password',
    danger: true,
    fields: [],
    needsId: 'app password',
    describe: ({ account }, target) => `Revokes the app password "${target}" of ${account}. Mail clients that use it can no longer sign in.`,
    async perform({ web, request, account }, _body, id) {
      const revoked = await core(() => revokeAppPassword(web.installation.context, adminActor(request), account, id!));
      return { kind: 'notice', notice: `App password "${revoked.name}" of ${account} revoked.` };
    },
  },
  policy: {
    title: 'Set the account policy',
    button: 'Set the policy',
    danger: false,
    fields: ['policy'],
    describe: ({ account, status }) => `Sets the policy of ${account} itself; inherit uses the class, domain or global level. Now: ${status.policy.policy} (from the ${status.policy.source} level).`,
    async perform({ web, request, account }, body) {
      const value = readText(body, 'policy', 'policy', 20);
      if (!POLICY_CHOICES.includes(value)) {
        throw new WebError(400, 'ERR_INVALID_POLICY', `Invalid policy "${value}": choose ${POLICY_CHOICES.join(', ')}.`);
      }
      await core(() => setPolicy(web.installation.context, adminActor(request), { level: 'account', account }, value));
      return { kind: 'notice', notice: `Policy of ${account} set to ${value}.` };
    },
  },
  class: {
    title: 'Set the account class',
    button: 'Set the class',
    danger: false,
    fields: ['class'],
    describe: ({ account, status }) => `Puts ${account} in an account class, whose policy applies unless the account sets its own. Now: ${status.accountClass ?? 'no class'}.`,
    async perform({ web, request, account }, body) {
      const name = readText(body, 'class', 'class', 40, false);
      if (name === '') {
        await core(() => unassignClass(web.installation.context, adminActor(request), account));
        return { kind: 'notice', notice: `${account} is in no class now.` };
      }
      await core(() => assignClass(web.installation.context, adminActor(request), account, name));
      return { kind: 'notice', notice: `${account} is in class ${name} now.` };
    },
  },
};

/**
 * Finds the device or app password an action names, for its confirmation text.
 * @throws WebError 404 when the account has none with that id.
 */
export function actionTarget(action: AccountAction, status: AccountStatus, rawId: unknown): { id?: string; name?: string } {
  if (!action.needsId) {
    return {};
  }
  const id = readId(rawId, action.needsId);
  const list = action.needsId === 'device' ? status.devices : status.appPasswords;
  const found = list.find((entry) => entry.id === id);
  if (!found) {
    throw new WebError(404, 'ERR_NOT_FOUND', `No such ${action.needsId} on ${status.account}: it may have been revoked already.`);
  }
  return { id, name: found.name };
}

export async function classChoices(web: WebContext): Promise<ClassRecord[]> {
  return core(() => listClasses(web.installation.context));
}

export { POLICY_CHOICES };
