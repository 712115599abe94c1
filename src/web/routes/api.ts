// The JSON API: every panel action for a webmail or script, with the same sessions, CSRF
// rules (an `X-CSRF-Token` header) and rate limits as the HTML pages.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AccountStatus } from '../../core/accounts';
import { loadAccountState } from '../../core/state';
import { WebError } from '../errors';
import {
  accountStatus,
  cancelDevicePairing,
  confirmDevicePairing,
  createAppPasswordFromForm,
  isRecentlyVerified,
  loadPendingPairing,
  newRecoveryCodes,
  recentActivity,
  revokeEveryDevice,
  revokeOneAppPassword,
  revokeOneDevice,
  signInWithCode,
  signInWithPassword,
  signOut,
  startDevicePairing,
  verifyCredentials,
  type WebContext,
} from '../flows';
import { requireSession } from '../guards';
import { readId } from '../input';
import { signInRateLimit } from '../rate-limit';

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-store');
}

function statusJson(status: AccountStatus) {
  return {
    account: status.account,
    policy: status.policy.policy,
    enrolled: status.enrolled,
    devices: status.devices,
    appPasswords: status.appPasswords,
    recoveryCodesLeft: status.recoveryCodesLeft,
    locked: status.locked,
    pendingDevice: status.pendingDevice,
  };
}

export async function registerApiRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  const signedIn = requireSession(web, { api: true });
  const verified = requireSession(web, { api: true, recentlyVerified: true });
  const verifiedInSetup = requireSession(web, { api: true, allowSetup: true, recentlyVerified: true });
  const limited = { rateLimit: signInRateLimit(web) };

  app.addHook('onSend', async (_request, reply) => {
    noStore(reply);
  });

  app.get('/api/session', async (request, reply) => {
    const { stage, account } = request.session.data;
    return {
      stage,
      account: stage === 'anonymous' ? undefined : account,
      recentlyVerified: stage === 'signed-in' || stage === 'setup' ? isRecentlyVerified(web, request) : false,
      csrfToken: reply.generateCsrf(),
    };
  });

  app.post('/api/sign-in', { config: limited }, async (request, reply) => {
    const next = await signInWithPassword(web, request);
    return { next, csrfToken: reply.generateCsrf() };
  });

  app.post('/api/sign-in/code', { config: limited }, async (request, reply) => {
    try {
      const next = await signInWithCode(web, request);
      return { next, csrfToken: reply.generateCsrf() };
    } catch (error) {
      if (error instanceof WebError && error.code === 'ERR_SIGN_IN_FAILED') {
        // The failed attempt renewed the session: hand out the token for the next try.
        return reply.code(401).send({ error: { code: error.code, message: error.message }, csrfToken: reply.generateCsrf() });
      }
      throw error;
    }
  });

  app.post('/api/sign-out', async (request) => {
    await signOut(web, request);
    return { signedOut: true };
  });

  app.post('/api/verify', { preHandler: requireSession(web, { api: true, allowSetup: true }), config: limited }, async (request) => {
    await verifyCredentials(web, request);
    return { verifiedUntil: request.session.data.verifiedAt! + web.settings.reverifyWindowMs };
  });

  app.get('/api/status', { preHandler: signedIn }, async (request) => statusJson(await accountStatus(web, request)));

  app.get('/api/activity', { preHandler: signedIn }, async (request) => ({ events: await recentActivity(web, request) }));

  app.get('/api/2sv/pairing', { preHandler: verifiedInSetup }, async (request) => {
    const pairing = await loadPendingPairing(web, request);
    if (!pairing) {
      throw new WebError(404, 'ERR_NOT_FOUND', 'No device is waiting for confirmation: start a pairing with POST /api/2sv/pairing.');
    }
    return pairing;
  });

  app.post('/api/2sv/pairing', { preHandler: verifiedInSetup }, async (request) => startDevicePairing(web, request));

  app.post('/api/2sv/pairing/cancel', { preHandler: verifiedInSetup }, async (request) => ({ cancelled: await cancelDevicePairing(web, request) }));

  app.post('/api/2sv/pairing/confirm', { preHandler: verifiedInSetup }, async (request) => {
    const confirmed = await confirmDevicePairing(web, request);
    return { deviceName: confirmed.deviceName, recoveryCodes: confirmed.recoveryCodes ?? null };
  });

  app.post('/api/devices/:id/revoke', { preHandler: verified }, async (request) => {
    const name = await revokeOneDevice(web, request, readId((request.params as Record<string, unknown>).id, 'device'));
    return { revoked: name };
  });

  app.post('/api/devices/revoke-all', { preHandler: verified }, async (request) => {
    const count = await revokeEveryDevice(web, request);
    const { policy } = await loadAccountState(web.installation.context, request.session.account!);
    return { revoked: count, setupRequiredAtNextSignIn: policy.policy === 'mandatory' };
  });

  app.get('/api/app-passwords', { preHandler: verified }, async (request) => ({
    appPasswords: (await accountStatus(web, request)).appPasswords,
  }));

  app.post('/api/app-passwords', { preHandler: verified }, async (request, reply) => {
    const created = await createAppPasswordFromForm(web, request);
    return reply.code(201).send(created);
  });

  app.post('/api/app-passwords/:id/revoke', { preHandler: verified }, async (request) => {
    const name = await revokeOneAppPassword(web, request, readId((request.params as Record<string, unknown>).id, 'app password'));
    return { revoked: name };
  });

  app.post('/api/recovery-codes', { preHandler: verified }, async (request) => ({ recoveryCodes: await newRecoveryCodes(web, request) }));
}
