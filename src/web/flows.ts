// The panel's actions, shared by the HTML routes and the JSON API so both follow the same
// rules. Each takes the request (for its session and client IP) and throws WebError.
import type { FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { normalizeAccount } from '../core/account';
import {
  cancelPairing,
  confirmPairing,
  createAppPassword,
  getAccountStatus,
  regenerateRecoveryCodes,
  revokeAllDevices,
  revokeAppPassword,
  revokeDevice,
  startPairing,
  type AccountStatus,
  type Actor,
} from '../core/accounts';
import { isTwoStepError } from '../core/errors';
import { verifyFirstFactor, verifySecondFactor } from '../core/sign-in';
import { loadAccountState } from '../core/state';
import { buildOtpauthUri, formatSecretKey } from '../core/totp';
import type { AuditEvent } from '../store/types';
import type { Installation } from '../installation';
import { WebError, WRONG_CREDENTIALS, toWebError } from './errors';
import { MAX_ACCOUNT_LENGTH, MAX_NAME_FIELD_LENGTH, MAX_PASSWORD_LENGTH, readCode, readScopes, readText } from './input';
import type { SessionManager } from './session';
import type { HttpSettings } from './settings';

/** Dependencies of every route: the installation, the HTTP settings, sessions and a way to wait. */
export interface WebContext {
  readonly installation: Installation;
  readonly settings: HttpSettings;
  readonly sessions: SessionManager;
  /** Waits before a rejection reply (throttling); tests pass a recorder. */
  readonly sleep: (ms: number) => Promise<void>;
}

export type SignInNext = 'code' | 'setup' | 'done';

const RECENT_ACTIVITY_LIMIT = 50;

function now(web: WebContext): number {
  return web.installation.context.now();
}

/** Returns whether the account is named in `admins[]` of twostep.ini. */
export function isAdmin(web: WebContext, account: string | undefined): boolean {
  return account !== undefined && web.installation.options.admins.includes(account);
}

function actorOf(request: FastifyRequest): Actor {
  return { actor: request.session.account ?? 'unknown', ip: request.ip };
}

async function auditWeb(web: WebContext, request: FastifyRequest, account: string, action: string, detail?: string): Promise<void> {
  await web.installation.context.store.appendAudit({ at: now(web), actor: account, action, account, ip: request.ip, protocol: 'web', detail });
}

/** Runs a core call and turns its TwoStepError into a WebError. */
async function core<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toWebError(error);
  }
}

/**
 * Checks the password page. A wrong password and an enrolled account both lead to the code
 * page, so the reply never reveals whether the password was right. The failure is reported
 * after the code, with one message for both.
 */
export async function signInWithPassword(web: WebContext, request: FastifyRequest): Promise<SignInNext> {
  const rawAccount = readText(request.body, 'account', 'email address', MAX_ACCOUNT_LENGTH);
  const password = readText(request.body, 'password', 'password', MAX_PASSWORD_LENGTH);
  const account = await core(async () => normalizeAccount(rawAccount));
  const { context } = web.installation;

  const first = await core(() => verifyFirstFactor(context, account, password, request.ip));
  const { record, policy } = await core(() => loadAccountState(context, account));
  const enrolled = record.devices.length > 0;
  const session = request.session;
  await web.sessions.renew(session);

  // Admins always give their code when they have a device, whatever the policy: admin pages require it.
  const codeRequired = enrolled && (policy.policy !== 'disabled' || isAdmin(web, account));
  if (!first.ok || codeRequired) {
    session.replace({ stage: 'second-factor', account, passwordOk: first.ok, pendingDelayMs: first.delayMs }, now(web));
    return 'code';
  }
  if (policy.policy === 'mandatory' && !enrolled) {
    session.replace({ stage: 'setup', account, verifiedAt: now(web) }, now(web));
    await auditWeb(web, request, account, 'sign-in', 'password; setup of 2-Step Verification required');
    return 'setup';
  }
  session.replace({ stage: 'signed-in', account, verifiedAt: now(web) }, now(web));
  await auditWeb(web, request, account, 'sign-in', 'password');
  return 'done';
}

/** Checks the code page: a verification code or a recovery code. Any failure restarts the sign-in. */
export async function signInWithCode(web: WebContext, request: FastifyRequest): Promise<SignInNext> {
  const session = request.session;
  const { account, passwordOk, pendingDelayMs } = session.data;
  if (session.data.stage !== 'second-factor' || account === undefined) {
    throw new WebError(409, 'ERR_SIGN_IN_REQUIRED', 'No sign-in is in progress, or it expired: enter your email address and password first.');
  }
  const code = readCode(request.body, false);
  const { context } = web.installation;

  let delayMs = pendingDelayMs ?? 0;
  let method: string | undefined;
  if (passwordOk === true && code.trim() !== '') {
    const second = await core(() => verifySecondFactor(context, account, code, request.ip));
    if (second.ok) {
      method = second.method;
    } else {
      delayMs = Math.max(delayMs, second.delayMs);
    }
  }

  await web.sessions.renew(session);
  if (method === undefined) {
    session.replace({ stage: 'anonymous' }, now(web));
    await auditWeb(web, request, account, 'sign-in-failed');
    context.logger.warn({ event: 'web-sign-in', account, ip: request.ip, result: 'rejected', delay_ms: delayMs }, 'panel sign-in rejected');
    await web.sleep(delayMs);
    throw new WebError(401, 'ERR_SIGN_IN_FAILED', WRONG_CREDENTIALS);
  }
  session.replace({ stage: 'signed-in', account, verifiedAt: now(web), secondFactorAt: now(web) }, now(web));
  await auditWeb(web, request, account, 'sign-in', `password and ${method === 'code' ? 'verification code' : 'recovery code'}`);
  return 'done';
}

export async function signOut(web: WebContext, request: FastifyRequest): Promise<void> {
  const account = request.session.account;
  if (account !== undefined && request.session.data.stage !== 'anonymous') {
    await auditWeb(web, request, account, 'sign-out');
  }
  await web.sessions.destroy(request.session);
}

/** Returns whether the credentials were checked recently enough for a 2-Step Verification change. */
export function isRecentlyVerified(web: WebContext, request: FastifyRequest): boolean {
  const verifiedAt = request.session.data.verifiedAt;
  return verifiedAt !== undefined && now(web) - verifiedAt < web.settings.reverifyWindowMs;
}

/** Re-verifies the credentials: the password, and a code when the account is enrolled. */
export async function verifyCredentials(web: WebContext, request: FastifyRequest): Promise<void> {
  const account = request.session.account!;
  const password = readText(request.body, 'password', 'password', MAX_PASSWORD_LENGTH);
  const code = readCode(request.body, false);
  const { context } = web.installation;

  const { record } = await core(() => loadAccountState(context, account));
  const first = await core(() => verifyFirstFactor(context, account, password, request.ip));
  let ok = first.ok;
  let delayMs = first.delayMs;
  if (ok && record.devices.length > 0) {
    const second = code.trim() === '' ? undefined : await core(() => verifySecondFactor(context, account, code, request.ip));
    ok = second?.ok === true;
    delayMs = second && !second.ok ? second.delayMs : delayMs;
  }
  if (!ok) {
    await auditWeb(web, request, account, 'verification-failed');
    await web.sleep(delayMs);
    // The page asks for a code only when the account has a device, so the message names only what it asked for.
    throw new WebError(401, 'ERR_VERIFY_FAILED', record.devices.length > 0 ? WRONG_CREDENTIALS : 'Wrong password.');
  }
  request.session.data.verifiedAt = now(web);
  if (record.devices.length > 0) {
    request.session.data.secondFactorAt = now(web);
  }
  request.session.dirty = true;
}

/** A pairing as shown to the user: the secret key in groups of four, the otpauth link and its QR code. */
export interface PairingView {
  readonly deviceName: string;
  readonly secretKey: string;
  readonly formattedKey: string;
  readonly otpauthUri: string;
  /** The QR code of the otpauth link as an SVG document, rendered here (never by a third party). */
  readonly qrSvg: string;
  readonly expiresAt: number;
  /** Length of the device's codes: the length of the account's other devices. */
  readonly digits: number;
}

async function pairingView(deviceName: string, secretKey: string, otpauthUri: string, expiresAt: number, digits: number): Promise<PairingView> {
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { deviceName, secretKey, formattedKey: formatSecretKey(secretKey), otpauthUri, qrSvg, expiresAt, digits };
}

/** Starts pairing a device: a new pending secret key that counts only after its first code. */
export async function startDevicePairing(web: WebContext, request: FastifyRequest): Promise<PairingView> {
  const account = request.session.account!;
  const name = readText(request.body, 'name', 'device name', MAX_NAME_FIELD_LENGTH, false) || 'Authenticator app';
  const { context } = web.installation;
  const { policy } = await core(() => loadAccountState(context, account));
  if (policy.policy === 'disabled') {
    throw new WebError(409, 'ERR_NOT_ALLOWED', 'Your administrator has turned 2-Step Verification off for your account.');
  }
  const started = await core(() => startPairing(context, actorOf(request), account, name));
  const { record } = await core(() => loadAccountState(context, account));
  return pairingView(record.pendingDevice?.name ?? name, started.secretKey, started.otpauthUri, started.expiresAt, record.pendingDevice?.settings.digits ?? 6);
}

/** Returns the pairing waiting for its first code, or undefined when none is pending or it expired. */
export async function loadPendingPairing(web: WebContext, request: FastifyRequest): Promise<PairingView | undefined> {
  const account = request.session.account!;
  const { context } = web.installation;
  const { record } = await core(() => loadAccountState(context, account));
  const pending = record.pendingDevice;
  if (!pending) {
    return undefined;
  }
  const secretKey = await core(async () => context.secrets.decrypt(pending.encryptedKey));
  return pairingView(pending.name, secretKey, buildOtpauthUri(context.options.issuer, account, secretKey, pending.settings), pending.expiresAt, pending.settings.digits);
}

/** Drops the session account's unconfirmed device. */
export async function cancelDevicePairing(web: WebContext, request: FastifyRequest): Promise<boolean> {
  return core(() => cancelPairing(web.installation.context, request.session.account!));
}

export interface ConfirmedPairing {
  readonly deviceName: string;
  /** New recovery codes when this was the first device; shown once. */
  readonly recoveryCodes?: readonly string[];
}

/**
 * Confirms the pending device with its first code. In the mandatory setup stage this
 * completes the sign-in, with a new session id.
 */
export async function confirmDevicePairing(web: WebContext, request: FastifyRequest): Promise<ConfirmedPairing> {
  const account = request.session.account!;
  const code = readCode(request.body);
  const result = await core(() => confirmPairing(web.installation.context, actorOf(request), account, code));
  if (request.session.data.stage === 'setup') {
    const verifiedAt = request.session.data.verifiedAt;
    await web.sessions.renew(request.session);
    // The first code of the new device is a second factor too.
    request.session.replace({ stage: 'signed-in', account, verifiedAt, secondFactorAt: now(web) }, now(web));
  }
  return { deviceName: result.device.name, recoveryCodes: result.recoveryCodes };
}

export async function revokeOneDevice(web: WebContext, request: FastifyRequest, deviceId: string): Promise<string> {
  const device = await core(() => revokeDevice(web.installation.context, actorOf(request), request.session.account!, deviceId));
  return device.name;
}

/** Revokes every device. With policy optional that turns 2-Step Verification off. */
export async function revokeEveryDevice(web: WebContext, request: FastifyRequest): Promise<number> {
  return core(() => revokeAllDevices(web.installation.context, actorOf(request), request.session.account!));
}

export interface CreatedAppPassword {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** Shown once, in groups of four. */
  readonly appPassword: string;
}

export async function createAppPasswordFromForm(web: WebContext, request: FastifyRequest): Promise<CreatedAppPassword> {
  const name = readText(request.body, 'name', 'app password name', MAX_NAME_FIELD_LENGTH);
  const scopes = readScopes(request.body);
  const created = await core(() => createAppPassword(web.installation.context, actorOf(request), request.session.account!, name, scopes));
  return { id: created.record.id, name: created.record.name, scopes: created.record.scopes, appPassword: created.appPassword };
}

export async function revokeOneAppPassword(web: WebContext, request: FastifyRequest, id: string): Promise<string> {
  const account = request.session.account!;
  const { record } = await core(() => loadAccountState(web.installation.context, account));
  // Only ids are accepted here: the core also matches names, which a URL must not select by.
  if (!record.appPasswords.some((entry) => entry.id === id)) {
    throw new WebError(404, 'ERR_NOT_FOUND', 'App password not found. It may have been revoked already.');
  }
  const revoked = await core(() => revokeAppPassword(web.installation.context, actorOf(request), account, id));
  return revoked.name;
}

export async function newRecoveryCodes(web: WebContext, request: FastifyRequest): Promise<string[]> {
  return core(() => regenerateRecoveryCodes(web.installation.context, actorOf(request), request.session.account!));
}

export async function accountStatus(web: WebContext, request: FastifyRequest): Promise<AccountStatus> {
  return core(() => getAccountStatus(web.installation.context, request.session.account!));
}

/** Lists the account's own audit events, newest first. */
export async function recentActivity(web: WebContext, request: FastifyRequest): Promise<AuditEvent[]> {
  try {
    return await web.installation.context.store.listAudit({ account: request.session.account!, limit: RECENT_ACTIVITY_LIMIT });
  } catch (error) {
    throw isTwoStepError(error) ? toWebError(error) : error;
  }
}
