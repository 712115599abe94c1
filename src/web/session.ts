import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TwoStepContext } from '../core/context';
import { keys } from '../core/model';
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

/**
 * One request's view of its server-side session. The object also offers the
 * `get`/`set`/`options` calls that @fastify/csrf-protection makes in its secure-session mode,
 * so the CSRF secret lives in the server-side session and never in a cookie of its own.
 */
export class WebSession {
  /** True when the request carried a session cookie whose session had expired. */
  expired = false;
  dirty = false;
  /** Set when the id changed, so the new cookie is sent. */
  issued = false;
  destroyed = false;

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
 */
export class SessionManager {
  constructor(
    private readonly context: TwoStepContext,
    private readonly settings: HttpSettings,
  ) {}

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

  /** Loads the session named by the request's cookie, or a new anonymous one. */
  async load(request: FastifyRequest): Promise<WebSession> {
    const now = this.context.now();
    const id = request.cookies[this.cookieName(request)];
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
    if (session.id === undefined) {
      if (!session.dirty) {
        return;
      }
      // A form was rendered for a visitor without a session: its CSRF secret needs one.
      session.id = randomBytes(SESSION_ID_BYTES).toString('base64url');
      session.issued = true;
    }

    const now = this.context.now();
    session.data.lastSeenAt = now;
    await this.context.store.set(this.storeKey(session.id), session.data, this.ttlMs(session.data, now));
    if (session.issued) {
      // No Max-Age, so the browser drops the cookie when it closes. The server enforces the time limits.
      reply.setCookie(name, session.id, cookieOptions);
    }
  }
}
