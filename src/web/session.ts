import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TwoStepContext } from '../core/context';
import { keys } from '../core/model';
import { constantTimeEqual } from '../core/secrets';
import { isLoopbackHost, type HttpSettings } from './settings';

/**
 * Stage of a browser session:
 * - `anonymous`: no account yet; holds only the CSRF secret of the sign-in form.
 * - `second-factor`: the password page was submitted; the code page comes next.
 * - `setup`: policy is mandatory and the account has no device; only the setup pages are reachable.
 * - `signed-in`: fully signed in.
 */
export type SessionStage = 'anonymous' | 'second-factor' | 'setup' | 'signed-in';

export interface SessionData {
  stage: SessionStage;
  account?: string;
  /** When this session id was issued; the absolute limit counts from here. */
  createdAt: number;
  lastSeenAt: number;
  /** Last time the credentials were checked (sign-in or re-verification). */
  verifiedAt?: number;
  /** Last time this session passed a second factor (verification code or recovery code); admin pages need it. */
  secondFactorAt?: number;
  /** Secret behind the CSRF tokens of this session (used by @fastify/csrf-protection). */
  csrfSecret?: string;
  /** Stage `second-factor` only: whether the password was right. Never shown to the client. */
  passwordOk?: boolean;
  /** Stage `second-factor` only: throttling delay earned by a wrong password, applied with the code reply. */
  pendingDelayMs?: number;
  /** One-time message for the next page. */
  notice?: string;
}

/** An unfinished sign-in (password given, code not yet) lasts at most this long. */
const PENDING_SIGN_IN_MS = 600_000;
const SESSION_ID_BYTES = 32;
/** Prefix of the cookie of a visitor who has not signed in. A session id never contains a dot. */
const ANONYMOUS_COOKIE_PREFIX = 'a.';
/** Longer cookie values are not read: a CSRF secret and a notice fit in far less. */
const MAX_ANONYMOUS_COOKIE_LENGTH = 2048;
/** How far ahead of this server's clock another panel server's cookie time may be. */
const CLOCK_DIFFERENCE_MS = 60_000;

/** Contents of an anonymous visitor's sealed cookie: CSRF secret, one-time notice and when it was written. */
interface AnonymousState {
  readonly csrfSecret?: string;
  readonly notice?: string;
  readonly at: number;
}

/**
 * One request's view of its session. The object also offers the `get`/`set`/`options` calls
 * that @fastify/csrf-protection makes in its secure-session mode, so the CSRF secret lives in
 * the session: in the store once a password was given, in the sealed cookie before.
 */
export class WebSession {
  /** True when the request carried a session cookie whose session had expired. */
  expired = false;
  dirty = false;
  /** Set when the id changed, so the new cookie is sent. */
  issued = false;
  destroyed = false;
  /** True when the request carried an anonymous visitor's sealed cookie. */
  sealed = false;

  constructor(
    public id: string | undefined,
    public data: SessionData,
  ) {}

  get account(): string | undefined {
    return this.data.account;
  }

  get(key: string): string | undefined {
    return key === '_csrf' ? this.data.csrfSecret : undefined;
  }

  set(key: string, value: string): void {
    if (key === '_csrf') {
      this.data.csrfSecret = value;
      this.dirty = true;
    }
  }

  options(): void {}

  /** Replaces the whole state, for example after a stage change. */
  replace(data: Partial<SessionData> & Pick<SessionData, 'stage'>, now: number): void {
    this.data = { createdAt: this.data.createdAt, ...data, lastSeenAt: now };
    this.dirty = true;
  }

  takeNotice(): string | undefined {
    const notice = this.data.notice;
    if (notice !== undefined) {
      delete this.data.notice;
      this.dirty = true;
    }
    return notice;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    session: WebSession;
  }
}

function freshData(now: number): SessionData {
  return { stage: 'anonymous', createdAt: now, lastSeenAt: now };
}

/**
 * Server-side sessions in the TwoStep store. The cookie contains a random id, and the store key is
 * a keyed hash of it, so a copy of the store cannot be turned into a working cookie.
 *
 * A visitor who has not given a password yet gets no store row: the CSRF secret of the sign-in
 * form and a one-time notice travel in the cookie itself, with a keyed hash that the server
 * checks. Visits to the sign-in page then write nothing to the store.
 */
export class SessionManager {
  /** @param contextOf returns the current context: the service may open its installation again. */
  constructor(
    private readonly contextOf: () => TwoStepContext,
    private readonly settings: HttpSettings,
  ) {}

  private get context(): TwoStepContext {
    return this.contextOf();
  }

  private storeKey(id: string): string {
    return keys.webSession(this.context.secrets.hash('web-session', id));
  }

  /**
   * Returns whether this request gets a Secure `__Host-` cookie. Plain HTTP to a loopback
   * listener (the local stack) cannot carry Secure cookies, so it gets a plain one.
   */
  isSecure(request: FastifyRequest): boolean {
    if (this.settings.cookieSecure !== 'auto') {
      return this.settings.cookieSecure === 'always';
    }
    return request.protocol === 'https' || !isLoopbackHost(this.settings.host);
  }

  cookieName(request: FastifyRequest): string {
    return this.isSecure(request) ? '__Host-twostep-session' : 'twostep-session';
  }

  /** Lifetime left for a session: the idle limit, capped by the absolute one. */
  private ttlMs(data: SessionData, now: number): number {
    if (data.stage === 'anonymous' || data.stage === 'second-factor') {
      return Math.min(PENDING_SIGN_IN_MS, this.settings.sessionIdleMs);
    }
    return Math.max(1, Math.min(this.settings.sessionIdleMs, data.createdAt + this.settings.sessionMaxAgeMs - now));
  }

  private isExpired(data: SessionData, now: number): boolean {
    if (now - data.lastSeenAt >= this.ttlMs(data, data.lastSeenAt)) {
      return true;
    }
    return data.stage !== 'anonymous' && now - data.createdAt >= this.settings.sessionMaxAgeMs;
  }

  /** Returns the cookie value that carries an anonymous visitor's state. */
  private seal(state: AnonymousState): string {
    const payload = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
    return `${ANONYMOUS_COOKIE_PREFIX}${payload}.${this.context.secrets.hash('web-anonymous', payload)}`;
  }

  /** Reads a sealed cookie. Returns undefined when it was altered, is malformed or has expired. */
  private unseal(value: string, now: number): AnonymousState | undefined {
    if (value.length > MAX_ANONYMOUS_COOKIE_LENGTH) {
      return undefined;
    }
    const [payload, tag, ...rest] = value.slice(ANONYMOUS_COOKIE_PREFIX.length).split('.');
    if (rest.length > 0 || payload === undefined || tag === undefined || !constantTimeEqual(tag, this.context.secrets.hash('web-anonymous', payload))) {
      return undefined;
    }
    let state: Partial<Record<keyof AnonymousState, unknown>>;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof state;
    } catch {
      return undefined;
    }
    const { csrfSecret, notice, at } = state;
    if (typeof at !== 'number' || (csrfSecret !== undefined && typeof csrfSecret !== 'string') || (notice !== undefined && typeof notice !== 'string')) {
      return undefined;
    }
    // The same limit as a stored anonymous session had. Panel servers that share the store
    // may write the cookie, so a time a little ahead of this clock is still read.
    if (at > now + CLOCK_DIFFERENCE_MS || now - at >= this.ttlMs(freshData(at), at)) {
      return undefined;
    }
    return { csrfSecret, notice, at };
  }

  /** Loads the session named by the request's cookie, or a new anonymous one. */
  async load(request: FastifyRequest): Promise<WebSession> {
    const now = this.context.now();
    const id = request.cookies[this.cookieName(request)];
    if (typeof id === 'string' && id.startsWith(ANONYMOUS_COOKIE_PREFIX)) {
      const state = this.unseal(id, now);
      const session = new WebSession(undefined, freshData(now));
      session.sealed = true;
      if (state?.csrfSecret !== undefined) {
        session.data.csrfSecret = state.csrfSecret;
      }
      if (state?.notice !== undefined) {
        session.data.notice = state.notice;
      }
      return session;
    }
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(id)) {
      return new WebSession(undefined, freshData(now));
    }
    const data = await this.context.store.get<SessionData>(this.storeKey(id));
    if (!data) {
      const session = new WebSession(undefined, freshData(now));
      session.expired = true;
      return session;
    }
    if (this.isExpired(data, now)) {
      await this.context.store.delete(this.storeKey(id));
      const session = new WebSession(undefined, freshData(now));
      session.expired = data.stage !== 'anonymous';
      return session;
    }
    return new WebSession(id, data);
  }

  /**
   * Gives the session a new id (at each sign-in step, against session fixation) and drops
   * the old one from the store. The CSRF secret is renewed with it.
   */
  async renew(session: WebSession): Promise<void> {
    if (session.id !== undefined) {
      await this.context.store.delete(this.storeKey(session.id));
    }
    const now = this.context.now();
    session.id = randomBytes(SESSION_ID_BYTES).toString('base64url');
    session.data = { ...session.data, createdAt: now, lastSeenAt: now };
    delete session.data.csrfSecret;
    session.issued = true;
    session.dirty = true;
  }

  /** Ends the session: removes it from the store and clears the cookie when the reply is sent. */
  async destroy(session: WebSession): Promise<void> {
    if (session.id !== undefined) {
      await this.context.store.delete(this.storeKey(session.id));
    }
    session.id = undefined;
    session.data = freshData(this.context.now());
    session.destroyed = true;
    session.dirty = false;
  }

  /** Writes the session back and sets or clears the cookie; runs before every reply is sent. */
  async save(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = request.session;
    if (!session) {
      return;
    }
    const name = this.cookieName(request);
    const cookieOptions = { path: '/', httpOnly: true, secure: this.isSecure(request), sameSite: 'lax' as const };
    if (session.destroyed && session.id === undefined && !session.dirty) {
      reply.clearCookie(name, cookieOptions);
      return;
    }
    const now = this.context.now();
    if (session.data.stage === 'anonymous') {
      // A stored session that became anonymous (after a failed sign-in, or written by an earlier
      // version) is deleted from the store. A new id from renew() was never written, so it is skipped.
      if (session.id !== undefined && !session.issued) {
        await this.context.store.delete(this.storeKey(session.id));
      }
      session.id = undefined;
      const { csrfSecret, notice } = session.data;
      if (csrfSecret !== undefined || notice !== undefined) {
        // Written again with each reply, so the time limit runs from the last request.
        reply.setCookie(name, this.seal({ csrfSecret, notice, at: now }), cookieOptions);
      } else if (session.sealed || session.issued || session.destroyed) {
        reply.clearCookie(name, cookieOptions);
      }
      return;
    }
    if (session.id === undefined) {
      if (!session.dirty) {
        return;
      }
      session.id = randomBytes(SESSION_ID_BYTES).toString('base64url');
      session.issued = true;
    }

    session.data.lastSeenAt = now;
    await this.context.store.set(this.storeKey(session.id), session.data, this.ttlMs(session.data, now));
    if (session.issued) {
      // No Max-Age, so the browser drops the cookie when it closes. The server enforces the time limits.
      reply.setCookie(name, session.id, cookieOptions);
    }
  }
}
