import { isIP } from 'node:net';
import { stripControlCharacters } from '../core/account';
import type { TwoStepContext } from '../core/context';
import { decideLogin } from '../core/login';
import type { Protocol } from '../core/model';

/** Dovecot services and the protocol whose rules (and app password scope) apply to them. */
const SERVICES: Readonly<Record<string, Exclude<Protocol, 'web'>>> = {
  imap: 'imap',
  pop3: 'pop3',
  smtp: 'smtp',
  submission: 'smtp',
};

/** The JSON body of an `/auth/dovecot` reply. 200 carries the account and the password without the code. */
export type DovecotAuthBody =
  | { readonly result: 'accepted'; readonly account: string; readonly password: string }
  | { readonly result: 'rejected' }
  | { readonly result: 'temporary-failure' }
  | { readonly result: 'invalid-request'; readonly error: string };

export interface DovecotAuthResult {
  readonly status: 200 | 400 | 401 | 503;
  readonly body: DovecotAuthBody;
  /** How long to wait before sending a rejection, so repeated failures slow down. */
  readonly delayMs: number;
}

function field(body: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = body[name];
    if (typeof value === 'string') {
      return value;
    }
  }
  return undefined;
}

function invalid(error: string): DovecotAuthResult {
  return { status: 400, body: { result: 'invalid-request', error }, delayMs: 0 };
}

/**
 * Decides a login for the Dovecot Lua passdb. The body is a form or JSON object with
 * `user`, `password`, `remote_ip` and `service` (imap, pop3, smtp or submission).
 * Never throws: a store fault is 503, a rejection 401, a malformed request 400.
 */
export async function answerDovecotAuth(context: TwoStepContext, body: unknown): Promise<DovecotAuthResult> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid('invalid request body: expected a form or JSON object with user, password, remote_ip and service');
  }
  const values = body as Record<string, unknown>;
  const user = field(values, 'user');
  const password = field(values, 'password');
  const ip = field(values, 'remote_ip', 'rip') ?? '';
  const service = (field(values, 'service') ?? '').toLowerCase();
  if (user === undefined || password === undefined) {
    return invalid('missing user or password field');
  }
  if (isIP(ip) === 0) {
    return invalid(`invalid remote_ip ${JSON.stringify(stripControlCharacters(ip))}: expected the client's IP address (Dovecot's %{rip})`);
  }
  const protocol = SERVICES[service];
  if (!protocol) {
    return invalid(`invalid service ${JSON.stringify(stripControlCharacters(service))}: expected imap, pop3, smtp or submission`);
  }

  const decision = await decideLogin(context, { account: user, secret: password, protocol, ip });
  if (decision.outcome === 'accepted') {
    // An app password holds no code, so it is what the following passdbs would check.
    return { status: 200, body: { result: 'accepted', account: decision.account, password: decision.password ?? password }, delayMs: 0 };
  }
  if (decision.outcome === 'temporary-failure') {
    return { status: 503, body: { result: 'temporary-failure' }, delayMs: 0 };
  }
  return { status: 401, body: { result: 'rejected' }, delayMs: decision.delayMs };
}
