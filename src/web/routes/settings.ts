import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatCount } from '../../core/counts';
import { loadAccountState } from '../../core/state';
import { WebError } from '../errors';
import {
  accountStatus,
  cancelDevicePairing,
  confirmDevicePairing,
  isRecentlyVerified,
  loadPendingPairing,
  newRecoveryCodes,
  recentActivity,
  revokeEveryDevice,
  revokeOneDevice,
  startDevicePairing,
  type WebContext,
} from '../flows';
import { requireSession } from '../guards';
import { readId } from '../input';
import { redirectWithNotice, renderPage } from '../render';
import { brandingForAccount } from '../branding';
import { renderFormError } from './sign-in';

/** Text file offered for download next to freshly shown recovery codes. */
export function recoveryCodesFile(issuer: string, account: string, codes: readonly string[]): string {
  return [`${issuer} recovery codes for ${account}`, 'Each code works once.', '', ...codes, ''].join('\n');
}

/** Renders the page that shows recovery codes once, with a download link. */
export async function renderRecoveryCodes(web: WebContext, request: FastifyRequest, reply: FastifyReply, codes: readonly string[], title: string): Promise<FastifyReply> {
  const file = recoveryCodesFile(web.installation.options.issuer, request.session.account!, codes);
  return renderPage(web, request, reply, 'recovery-codes', {
    title,
    codes,
    downloadHref: `data:text/plain;charset=utf-8,${encodeURIComponent(file)}`,
  });
}

/** Settings: status, turning 2-Step Verification on, devices, recovery codes and activity. */
export async function registerSettingsRoutes(app: FastifyInstance, web: WebContext): Promise<void> {
  const signedIn = requireSession(web, { api: false });
  const setupAllowed = requireSession(web, { api: false, allowSetup: true });
  const verified = (returnTo: string, allowSetup = false) => requireSession(web, { api: false, allowSetup, recentlyVerified: true, returnTo });

  app.get('/settings', { preHandler: signedIn }, async (request, reply) => {
    const status = await accountStatus(web, request);
    const events = (await recentActivity(web, request)).slice(0, 5);
    return renderPage(web, request, reply, 'settings', { title: 'Settings', status, events });
  });

  app.get('/settings/activity', { preHandler: signedIn }, async (request, reply) => {
    const events = await recentActivity(web, request);
    return renderPage(web, request, reply, 'activity', { title: 'Recent activity', events });
  });

  app.get('/settings/2sv/start', { preHandler: setupAllowed }, async (request, reply) => {
    const status = await accountStatus(web, request);
    if (status.enrolled) {
      return reply.redirect('/settings/2sv', 303);
    }
    return renderPage(web, request, reply, 'start', {
      title: 'Turn on 2-Step Verification',
      status,
      setup: request.session.data.stage === 'setup',
      asksPassword: !isRecentlyVerified(web, request),
    });
  });

  const pairingPage = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const pairing = await loadPendingPairing(web, request);
    const { record } = await loadAccountState(web.installation.context, request.session.account!);
    const branded = await brandingForAccount(web, request.session.account);
    const data = { title: pairing ? 'Pair your authenticator app' : 'Name your device', pairing, firstDevice: record.devices.length === 0, ...branded };
    if (error !== undefined) {
      return renderFormError(web, request, reply, error, 'pair', data);
    }
    return renderPage(web, request, reply, 'pair', data);
  };

  app.get('/settings/2sv/pair', { preHandler: verified('/settings/2sv/pair', true) }, async (request, reply) => pairingPage(request, reply));

  app.post('/settings/2sv/pair', { preHandler: verified('/settings/2sv/pair', true) }, async (request, reply) => {
    try {
      await startDevicePairing(web, request);
    } catch (error) {
      return pairingPage(request, reply, error);
    }
    return reply.redirect('/settings/2sv/pair', 303);
  });

  app.post('/settings/2sv/pair/cancel', { preHandler: verified('/settings/2sv/pair', true) }, async (request, reply) => {
    const cancelled = await cancelDevicePairing(web, request);
    return redirectWithNotice(request, reply, '/settings/2sv/pair', cancelled ? 'Pairing cancelled. Name the device to start again.' : undefined);
  });

  app.post('/settings/2sv/confirm', { preHandler: verified('/settings/2sv/pair', true) }, async (request, reply) => {
    let confirmed;
    try {
      confirmed = await confirmDevicePairing(web, request);
    } catch (error) {
      if (error instanceof WebError && error.code === 'ERR_NOT_FOUND') {
        return redirectWithNotice(request, reply, '/settings/2sv/pair', 'The pairing expired. Start again with a new secret key.');
      }
      return pairingPage(request, reply, error);
    }
    if (confirmed.recoveryCodes) {
      return renderRecoveryCodes(web, request, reply, confirmed.recoveryCodes, '2-Step Verification is on');
    }
    return redirectWithNotice(request, reply, '/settings/2sv', `Device "${confirmed.deviceName}" added.`);
  });

  app.get('/settings/2sv', { preHandler: verified('/settings/2sv') }, async (request, reply) => {
    const status = await accountStatus(web, request);
    if (!status.enrolled) {
      return reply.redirect('/settings', 303);
    }
    return renderPage(web, request, reply, 'manage', { title: '2-Step Verification', status });
  });

  app.post('/settings/2sv/devices/:id/revoke', { preHandler: verified('/settings/2sv') }, async (request, reply) => {
    const id = readId((request.params as Record<string, unknown>).id, 'device');
    const name = await revokeOneDevice(web, request, id);
    const status = await accountStatus(web, request);
    return redirectWithNotice(request, reply, status.enrolled ? '/settings/2sv' : '/settings', `Device "${name}" revoked.${status.enrolled ? '' : ' 2-Step Verification is off.'}`);
  });

  app.get('/settings/2sv/revoke-all', { preHandler: verified('/settings/2sv') }, async (request, reply) => {
    const status = await accountStatus(web, request);
    if (!status.enrolled) {
      return reply.redirect('/settings', 303);
    }
    return renderPage(web, request, reply, 'revoke-all', { title: 'Revoke all devices', status });
  });

  app.post('/settings/2sv/revoke-all', { preHandler: verified('/settings/2sv') }, async (request, reply) => {
    const count = await revokeEveryDevice(web, request);
    if (count === 0) {
      // Another tab or an admin revoked the devices after this page was shown.
      return redirectWithNotice(request, reply, '/settings', 'You have no device to revoke; nothing changed.');
    }
    const { policy } = await loadAccountState(web.installation.context, request.session.account!);
    const outcome = policy.policy === 'mandatory'
      ? 'Your next sign-in will ask you to set up 2-Step Verification again.'
      : '2-Step Verification is off.';
    return redirectWithNotice(request, reply, '/settings', `${formatCount(count, 'device')} revoked. ${outcome}`);
  });

  app.post('/settings/2sv/recovery-codes', { preHandler: verified('/settings/2sv') }, async (request, reply) => {
    const codes = await newRecoveryCodes(web, request);
    return renderRecoveryCodes(web, request, reply, codes, 'New recovery codes');
  });
}
