import { isIP } from 'node:net';
import { TwoStepError } from '../core/errors';
import type { IniConfig } from '../core/options';

export type MailProtocol = 'imap' | 'pop3' | 'smtp';

export interface BackendServer {
  /** An IP address: nginx's mail proxy does not resolve host names in `Auth-Server`. */
  readonly host: string;
  readonly port: number;
}

/** Where nginx sends a login after TwoStep accepted it, and what password the backend gets. */
export interface BackendRouting {
  readonly defaults: Partial<Record<MailProtocol, BackendServer>>;
  /** Per-domain servers, keyed by lower-case domain, then protocol. */
  readonly domains: ReadonlyMap<string, Partial<Record<MailProtocol, BackendServer>>>;
  /** A master credential sent to every backend in place of the user's password, when set. */
  readonly backendPassword?: string;
}

const PROTOCOLS: readonly MailProtocol[] = ['imap', 'pop3', 'smtp'];

function parseServer(raw: unknown, where: string): BackendServer {
  const text = String(raw).trim();
  // `[2001:db8::1]:143` for IPv6, `192.0.2.10:143` for IPv4.
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || isIP(match[1]) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TwoStepError(
      'ERR_INVALID_CONFIG',
      `invalid twostep.ini ${where} = ${text}: expected IP:PORT such as 127.0.0.1:143 or [::1]:143 (nginx needs an IP address, not a host name)`,
    );
  }
  return { host: match[1], port };
}

/**
 * Reads `[nginx]` (imap_server, pop3_server, smtp_server, backend_password) and
 * `[nginx_domains]` (`DOMAIN.PROTOCOL = IP:PORT`) from twostep.ini.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the key that is wrong.
 */
export function parseBackendRouting(ini: IniConfig): BackendRouting {
  const section = ini.nginx ?? {};
  const defaults: Partial<Record<MailProtocol, BackendServer>> = {};
  for (const protocol of PROTOCOLS) {
    const raw = section[`${protocol}_server`];
    if (raw !== undefined && raw !== null && String(raw).trim() !== '') {
      defaults[protocol] = parseServer(raw, `[nginx] ${protocol}_server`);
    }
  }

  const domains = new Map<string, Partial<Record<MailProtocol, BackendServer>>>();
  for (const [key, raw] of Object.entries(ini.nginx_domains ?? {})) {
    const separator = key.lastIndexOf('.');
    const domain = key.slice(0, separator).toLowerCase();
    const protocol = key.slice(separator + 1).toLowerCase() as MailProtocol;
    if (separator <= 0 || !PROTOCOLS.includes(protocol)) {
      throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [nginx_domains] key ${key}: expected DOMAIN.imap, DOMAIN.pop3 or DOMAIN.smtp`);
    }
    domains.set(domain, { ...domains.get(domain), [protocol]: parseServer(raw, `[nginx_domains] ${key}`) });
  }

  const password = section.backend_password;
  const backendPassword = typeof password === 'string' && password !== '' ? password : undefined;
  return { defaults, domains, backendPassword };
}

/** Returns the backend for a protocol and account domain: the domain's entry first, then the default. */
export function backendFor(routing: BackendRouting, protocol: MailProtocol, domain: string): BackendServer | undefined {
  return routing.domains.get(domain)?.[protocol] ?? routing.defaults[protocol];
}
