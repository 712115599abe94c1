import { isIP } from 'node:net';
import { accountForLog, domainOf, normalizeAccount, stripControlCharacters } from '../core/account';
import type { TwoStepContext } from '../core/context';
import { processFaultLog } from '../core/fault-log';
import { decideLogin, type LoginDecision } from '../core/login';
import { backendFor, type BackendRouting, type MailProtocol } from './backend-servers';
import { IMAP_REJECT, IMAP_TEMPORARY, POP3_REJECT, POP3_TEMPORARY, SMTP_REJECT, SMTP_TEMPORARY, splitSmtpReply } from './replies';

/** Response headers for nginx's `auth_http`; values are latin1 strings that carry UTF-8 bytes. */
export type NginxAuthHeaders = Record<string, string>;

/** The route's reply: HTTP 200 with auth headers, or HTTP 400 for a request nginx would never send. */
export type NginxAuthResult =
  | { readonly status: 200; readonly headers: NginxAuthHeaders }
  | { readonly status: 400; readonly error: string };

const PROTOCOLS: readonly MailProtocol[] = ['imap', 'pop3', 'smtp'];
/** Only methods that carry the password in clear can carry a verification code. */
const METHODS = ['plain', 'login'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an `Auth-User` or `Auth-Pass` header the way nginx escapes it: only space, `%` and
 * bytes below 0x20 are %-escaped, while `+` and UTF-8 bytes arrive raw (nginx 1.22
 * `ngx_escape_uri` with `NGX_ESCAPE_MAIL_AUTH`). Node hands header bytes over as latin1.
 * Returns undefined for a bad escape or bytes that are not UTF-8.
 */
export function decodeNginxValue(raw: string): string | undefined {
  const bytes = Buffer.from(raw, 'latin1');
  const decoded: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) {
      decoded.push(bytes[i]);
      continue;
    }
    const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      return undefined;
    }
    decoded.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(decoded));
  } catch {
    return undefined;
  }
}

/** Encodes a response header value as raw UTF-8 bytes: nginx copies `Auth-User` and `Auth-Pass` verbatim. */
function encodeNginxValue(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Auth-Wait` keeps nginx's session open for another try; nginx ignores 0, and without it nginx closes the connection. */
function waitSeconds(delayMs: number): string {
  return String(Math.max(1, Math.ceil(delayMs / 1000)));
}

function rejection(protocol: MailProtocol, delayMs: number): NginxAuthHeaders {
  if (protocol === 'smtp') {
    const { status, text } = splitSmtpReply(SMTP_REJECT);
    return { 'Auth-Status': text, 'Auth-Error-Code': status, 'Auth-Wait': waitSeconds(delayMs) };
  }
  return { 'Auth-Status': protocol === 'imap' ? IMAP_REJECT : POP3_REJECT, 'Auth-Wait': waitSeconds(delayMs) };
}

function temporaryFailure(protocol: MailProtocol): NginxAuthHeaders {
  if (protocol === 'smtp') {
    const { status, text } = splitSmtpReply(SMTP_TEMPORARY);
    return { 'Auth-Status': text, 'Auth-Error-Code': status, 'Auth-Wait': '1' };
  }
  return { 'Auth-Status': protocol === 'imap' ? IMAP_TEMPORARY : POP3_TEMPORARY, 'Auth-Wait': '1' };
}

/** Returns the domain of a user name as TwoStep normalises it, or undefined when it is not a valid account. */
function domainOfUser(user: string): string | undefined {
  try {
    return domainOf(normalizeAccount(user));
  } catch {
    return undefined;
  }
}

/**
 * Returns a temporary failure because no mail server is configured for the protocol and the
 * account's domain. Every client of such a domain retries, so the line is written once a minute
 * per protocol and domain with a count of the requests in between. The fault log that counts
 * them is shared by the process unless the context brings its own.
 */
function noBackend(context: TwoStepContext, account: string, domain: string, protocol: MailProtocol): NginxAuthHeaders {
  const repeats = (context.faultLog ?? processFaultLog).count(`nginx no-backend ${protocol} ${domain}`, context.now());
  if (repeats === undefined) {
    return temporaryFailure(protocol);
  }

  const fix = `set [nginx] ${protocol}_server or [nginx_domains] ${domain}.${protocol} in twostep.ini`;
  const counted = repeats > 0 ? ` (${repeats} more requests answered this way since the last line)` : '';
  context.logger.error(
    {
      event: 'nginx-auth',
      account: accountForLog(account),
      domain,
      protocol,
      result: 'temporary-failure',
      reason: 'no-backend',
      repeats_since_last_log: repeats > 0 ? repeats : undefined,
    },
    `no backend server for ${protocol} at ${domain}: ${fix}${counted}`,
  );
  return temporaryFailure(protocol);
}

function acceptance(context: TwoStepContext, routing: BackendRouting, protocol: MailProtocol, secret: string, decision: Extract<LoginDecision, { outcome: 'accepted' }>): NginxAuthHeaders {
  const domain = domainOf(decision.account);
  const server = backendFor(routing, protocol, domain);
  if (!server) {
    return noBackend(context, decision.account, domain, protocol);
  }
  // The backend never sees a verification code: it gets the master credential, the password
  // without the code, or (for an app password, which holds no code) the app password itself.
  const backendPassword = routing.backendPassword ?? decision.password ?? secret;
  return {
    'Auth-Status': 'OK',
    'Auth-Server': server.host,
    'Auth-Port': String(server.port),
    'Auth-User': encodeNginxValue(decision.account),
    'Auth-Pass': encodeNginxValue(backendPassword),
  };
}

/**
 * Decides one nginx `auth_http` request (headers as Node received them, lower-cased).
 * Never throws: a store fault is a temporary failure, as decideLogin returns it.
 */
export async function answerNginxAuth(
  context: TwoStepContext,
  routing: BackendRouting,
  headers: Record<string, string | string[] | undefined>,
): Promise<NginxAuthResult> {
  const protocol = header(headers, 'auth-protocol')?.toLowerCase() as MailProtocol | undefined;
  if (!protocol || !PROTOCOLS.includes(protocol)) {
    return { status: 400, error: `invalid Auth-Protocol header ${JSON.stringify(stripControlCharacters(String(protocol ?? '')))}: expected imap, pop3 or smtp` };
  }
  const ip = header(headers, 'client-ip') ?? '';
  if (isIP(ip) === 0) {
    return { status: 400, error: `invalid Client-IP header ${JSON.stringify(stripControlCharacters(ip))}: expected the client's IP address, as nginx's mail module sends it` };
  }

  const method = header(headers, 'auth-method')?.toLowerCase() ?? '';
  const user = decodeNginxValue(header(headers, 'auth-user') ?? '');
  const secret = decodeNginxValue(header(headers, 'auth-pass') ?? '');
  if (!METHODS.includes(method) || user === undefined || secret === undefined) {
    const reason = METHODS.includes(method) ? 'bad-encoding' : 'unsupported-method';
    context.logger.warn({ event: 'login', protocol, ip, result: 'rejected', reason, method: stripControlCharacters(method) }, 'nginx auth request rejected before the login decision');
    return { status: 200, headers: rejection(protocol, 0) };
  }

  // Without a server to send the client to, a decision would use up a code and record a login
  // that never reaches a mail server.
  const domain = domainOfUser(user);
  if (domain !== undefined && !backendFor(routing, protocol, domain)) {
    return { status: 200, headers: noBackend(context, user, domain, protocol) };
  }

  const decision = await decideLogin(context, { account: user, secret, protocol, ip });
  if (decision.outcome === 'accepted') {
    return { status: 200, headers: acceptance(context, routing, protocol, secret, decision) };
  }
  if (decision.outcome === 'temporary-failure') {
    return { status: 200, headers: temporaryFailure(protocol) };
  }
  return { status: 200, headers: rejection(protocol, decision.delayMs) };
}
