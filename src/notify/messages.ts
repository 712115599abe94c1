import type { AccountEvent } from '../core/context';

/** A notification email without its addresses: a subject line and a plain-text body. */
export interface Notice {
  readonly subject: string;
  readonly text: string;
}

/** Settings of the message that do not come from the event. */
export interface NoticeSettings {
  readonly productName: string;
  readonly panelUrl: string;
  /** The domain's branding help text, added at the end when set. */
  readonly helpText?: string;
}

type Describe = (event: AccountEvent) => { readonly summary: string; readonly body: string };

const quoted = (detail: string | undefined) => (detail ? `"${detail}"` : 'a device');

/**
 * The audit actions that send the account owner an email, with the wording of each. Other actions
 * (a viewed code, a class change, an unlock) send nothing. Names come from the audit detail,
 * which never holds a secret.
 */
const DESCRIPTIONS: Readonly<Record<string, Describe>> = {
  'device-added': (event) => ({
    summary: 'a device was added',
    body: `The device ${quoted(event.detail)} was added to 2-Step Verification for ${event.account}.`,
  }),
  'secret-key-provisioned': (event) => ({
    summary: 'a device was added',
    body: `An administrator added the device ${quoted(event.detail)} to 2-Step Verification for ${event.account}.`,
  }),
  'secret-key-created': (event) => ({
    summary: 'a device was added',
    body: `An administrator added the device ${quoted(event.detail)} with a new secret key to 2-Step Verification for ${event.account}.`,
  }),
  'secret-key-reset': (event) => ({
    summary: 'your devices were replaced',
    body: `All devices of ${event.account} were replaced by the new device ${quoted(event.detail)}. Verification codes from the old devices no longer work.`,
  }),
  'device-revoked': (event) => ({
    summary: 'a device was removed',
    body: `The device ${quoted(event.detail)} was removed from 2-Step Verification for ${event.account}. Its verification codes no longer work.`,
  }),
  'devices-revoked-all': (event) => ({
    summary: 'all devices were removed',
    body: `All devices and recovery codes of ${event.account} were removed. Their codes no longer work.`,
  }),
  'app-password-created': (event) => ({
    summary: 'an app password was created',
    body: `An app password was created for ${event.account}${event.detail ? `: ${event.detail}` : ''}. Mail clients can sign in with it.`,
  }),
  'app-password-revoked': (event) => ({
    summary: 'an app password was revoked',
    body: `An app password of ${event.account} was revoked${event.detail ? `: ${event.detail}` : ''}. Mail clients that used it can no longer sign in with it.`,
  }),
  'recovery-codes-regenerated': (event) => ({
    summary: 'new recovery codes were created',
    body: `New recovery codes were created for ${event.account}. The old recovery codes no longer work.`,
  }),
  'recovery-code-used': (event) => ({
    summary: 'a recovery code was used',
    body: `A recovery code was used to sign in as ${event.account}. Each recovery code works only once.`,
  }),
  'second-factor-locked': (event) => ({
    summary: 'sign-in locked after wrong verification codes',
    body: `Sign-ins as ${event.account} with a verification code are blocked after repeated wrong codes. Sign in to the panel with a recovery code, or ask your administrator to unlock the account.`,
  }),
};

/** Returns whether an audit action sends a notification. */
export function isNotified(action: string): boolean {
  return Object.hasOwn(DESCRIPTIONS, action);
}

function describeActor(event: AccountEvent): string {
  if (event.actor === event.account) {
    return 'you (or someone signed in as you)';
  }
  if (event.actor === 'system') {
    return 'the mail server';
  }
  return 'an administrator';
}

/** Builds the notification for an event, or undefined when the action sends none. */
export function composeNotice(event: AccountEvent, settings: NoticeSettings): Notice | undefined {
  if (!isNotified(event.action)) {
    return undefined;
  }
  const { summary, body } = DESCRIPTIONS[event.action](event);
  const when = new Date(event.at).toISOString().replace(/\.\d{3}Z$/, ' UTC').replace('T', ' ');

  const lines = [
    body,
    '',
    `When: ${when}`,
    `By:   ${describeActor(event)}`,
    ...(event.ip ? [`From: ${event.ip}${event.protocol ? ` (${event.protocol})` : ''}`] : []),
    '',
    `If this was not you, sign in at ${settings.panelUrl} to check your devices and app passwords, and change your password.`,
    ...(settings.helpText ? ['', settings.helpText] : []),
    '',
    `-- ${settings.productName}`,
  ];
  return { subject: `${settings.productName}: ${summary}`, text: `${lines.join('\n')}\n` };
}
