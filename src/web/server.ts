import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type pino from 'pino';
import { registerAuthRoutes } from '../adapters/auth-routes';
import type { IniConfig } from '../core/options';
import { openInstallation, PACKAGE_ROOT, type Installation } from '../installation';
import { createLogger } from '../logger';
import { WebError, toWebError } from './errors';
import type { WebContext } from './flows';
import { redirectWithNotice, renderErrorPage } from './render';
import { registerApiRoutes } from './routes/api';
import { registerAppPasswordRoutes } from './routes/app-passwords';
import { registerSettingsRoutes } from './routes/settings';
import { registerSignInRoutes } from './routes/sign-in';
import { registerAdminRoutes } from './admin/routes';
import { registerBrandingRoutes } from './routes/branding';
import { sharedRateLimitStore } from './rate-limit';
import { watchOptions } from './reload';
import { SessionManager, type WebSession } from './session';
import { readHttpSettings, type HttpSettings } from './settings';

/** Folder of the panel's templates, CSS, client script and images. */
export const WEB_ROOT = join(PACKAGE_ROOT, 'web');

/** Form and JSON bodies are small; anything larger is rejected with 413 before parsing. */
const BODY_LIMIT_BYTES = 16 * 1024;

/** An installation replaced after a change of twostep.ini is closed this long after, once its requests are done. */
const REPLACED_INSTALLATION_CLOSE_MS = 30_000;

export interface HttpServiceOptions {
  /** Defaults to the `[http]` and `[session]` sections of the installation's twostep.ini. */
  readonly settings?: HttpSettings;
  /** A pino logger for requests and errors; none when omitted. */
  readonly logger?: pino.Logger;
  /** Waits before rejection replies (throttling delays); tests pass a recorder. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Re-reads twostep.ini when it changes, so policy and admins apply without a restart. */
  readonly watchConfig?: boolean;
}

const STATE_CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function isApiRequest(request: FastifyRequest): boolean {
  return request.url === '/api' || request.url.startsWith('/api/');
}

/** Maps framework and plugin errors to a WebError whose message is safe to show. */
function describeError(error: FastifyError | WebError | Error): WebError {
  const converted = toWebError(error);
  if (converted instanceof WebError) {
    return converted;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_CSRF_INVALID_TOKEN' || fastifyError.code === 'FST_CSRF_MISSING_SECRET') {
    return new WebError(403, 'ERR_CSRF', 'Invalid or missing CSRF token: reload the page and try again.');
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 413) {
    return new WebError(413, 'ERR_BODY_TOO_LARGE', `Request body too large: the limit is ${BODY_LIMIT_BYTES} bytes.`);
  }
  if (status === 429) {
    return new WebError(429, 'ERR_RATE_LIMITED', 'Too many attempts from your address. Wait a minute and try again.');
  }
  if (status >= 400 && status < 500) {
    return new WebError(status, 'ERR_INVALID_INPUT', 'Invalid request: check the content type and the body.');
  }
  return new WebError(500, 'ERR_INTERNAL', 'The server could not complete the request.');
}

function contentSecurityPolicy() {
  return {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      // The QR code is inline SVG markup; the recovery code download is a data: link.
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  };
}

/**
 * Builds the HTTP service (not listening): the user panel, its JSON API under /api, and the
 * auth endpoints of src/adapters. Call `listen()` on the result, or `inject()` in tests.
 */
export async function buildHttpService(installation: Installation, options: HttpServiceOptions = {}): Promise<FastifyInstance> {
  const settings = options.settings ?? readHttpSettings(installation.ini);
  const loggerInstance: FastifyBaseLogger | undefined = options.logger;
  const trustProxy = typeof settings.trustProxy === 'boolean' ? settings.trustProxy : [...settings.trustProxy];
  const app: FastifyInstance = Fastify({
    loggerInstance,
    trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
  });
  let current = installation;
  const sessions = new SessionManager(() => current.context, settings);
  const web: WebContext = {
    // A getter, so every request sees the settings of the latest twostep.ini.
    get installation() {
      return current;
    },
    settings,
    sessions,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };

  if (options.watchConfig) {
    // Installations this service opened again after a change of an open-time setting. The
    // caller owns and closes `installation`; the service closes these.
    const reopened: Installation[] = [];
    const reopen = async (ini: IniConfig): Promise<Installation> => {
      // Only the installation in use, in another place: the same encryption key id.
      const keyId = installation.context.secrets.keyId;
      const fresh = await openInstallation({ configDir: installation.configDir, ini, logger: installation.context.logger, batchActivity: true, existingOnly: true, keyId });
      const replaced = reopened.at(-1);
      reopened.push(fresh);
      if (replaced) {
        // Requests that started on it finish first; a request takes well under this.
        setTimeout(() => void replaced.close().catch(() => undefined), REPLACED_INSTALLATION_CLOSE_MS).unref();
      }
      return fresh;
    };
    watchOptions(installation, installation.context.logger, (updated) => {
      current = updated;
    }, reopen);
    app.addHook('onClose', async () => {
      await Promise.allSettled(reopened.map((opened) => opened.close()));
    });
  }

  await app.register(fastifyHelmet, { contentSecurityPolicy: contentSecurityPolicy() });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyRateLimit, { global: false, store: sharedRateLimitStore(() => web.installation.context.store) });
  await app.register(fastifyCsrfProtection, { sessionPlugin: '@fastify/secure-session' });
  await app.register(fastifyStatic, { root: join(WEB_ROOT, 'static'), prefix: '/static/' });
  await app.register(fastifyView, {
    engine: { eta: new Eta() },
    root: join(WEB_ROOT, 'templates'),
    layout: 'layout.eta',
    production: process.env.NODE_ENV === 'production',
  });

  app.decorateRequest('session', null as unknown as WebSession);
  app.addHook('onRequest', async (request) => {
    // The auth endpoints are called by nginx and Dovecot with the shared key, not by browsers:
    // they get no session (and so no CSRF check and no session write per login).
    if (!request.url.startsWith('/static/') && !request.url.startsWith('/auth/')) {
      request.session = await sessions.load(request);
    }
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (STATE_CHANGING_METHODS.has(request.method) && request.session) {
      app.csrfProtection(request, reply, done);
      return;
    }
    done();
  });
  // A failed session write sends the error reply through onSend again. The set below lets each
  // request save its session once, so the error reply does not wait for the same write.
  const saveTried = new WeakSet<FastifyRequest>();
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.session && !saveTried.has(request)) {
      saveTried.add(request);
      await sessions.save(request, reply);
    }
    return payload;
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const described = describeError(error);
    if (described.statusCode >= 500) {
      // One line per failed request, on the request's logger so that it carries the reqId of
      // Fastify's "incoming request" and "request completed" lines. The field is error_code
      // because the logger redacts `code`, the name of the verification code field.
      request.log.error(
        { event: 'http-error', error_code: described.code, status: described.statusCode, method: request.method, url: request.routeOptions.url ?? '', err: error },
        'request failed',
      );
    }
    // A sign-in form that expired (10 minutes) or was replaced by a sign-in in another tab
    // starts again with a fresh form, rather than on an error page.
    if (described.code === 'ERR_CSRF' && request.session && !isApiRequest(request) && SIGN_IN_FORMS.has(request.url)) {
      return redirectWithNotice(request, reply, '/sign-in', 'The sign-in form expired. Enter your email address and password again.');
    }
    return sendError(web, request, reply, described);
  });
  app.setNotFoundHandler(async (request, reply) => sendError(web, request, reply, new WebError(404, 'ERR_NOT_FOUND', 'Page not found.')));

  await registerSignInRoutes(app, web);
  await registerSettingsRoutes(app, web);
  await registerAppPasswordRoutes(app, web);
  await registerBrandingRoutes(app, web);
  await registerAdminRoutes(app, web);
  await app.register(async (api) => registerApiRoutes(api, web));
  await registerAuthRoutes(app, () => current);
  return app;
}

/** Form targets of the sign-in pages, where a failed CSRF check starts the sign-in again. */
const SIGN_IN_FORMS = new Set(['/sign-in', '/sign-in/code']);

async function sendError(web: WebContext, request: FastifyRequest, reply: FastifyReply, error: WebError): Promise<FastifyReply> {
  reply.header('Cache-Control', 'no-store');
  if (isApiRequest(request)) {
    return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
  }
  return renderErrorPage(web, reply, error.statusCode, error.message);
}

export interface RunningHttpService {
  readonly app: FastifyInstance;
  readonly installation: Installation;
  /** The panel's address, e.g. http://127.0.0.1:8025/. */
  readonly url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly configDir?: string;
  readonly host?: string;
  readonly port?: number;
  readonly logger?: pino.Logger;
}

/** Opens the installation and starts the HTTP service on `[http] host/port` (default 127.0.0.1:8025). */
export async function startHttpService(start: StartOptions = {}): Promise<RunningHttpService> {
  const logger = start.logger ?? createLogger('twostep-http');
  const installation = await openInstallation({ configDir: start.configDir, logger, batchActivity: true });
  try {
    const configured = readHttpSettings(installation.ini);
    const settings = { ...configured, host: start.host ?? configured.host, port: start.port ?? configured.port };
    const app = await buildHttpService(installation, { settings, logger, watchConfig: true });
    await app.listen({ host: settings.host, port: settings.port });
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    const url = `http://${host}:${settings.port}/`;
    logger.info({ event: 'http-start', host: settings.host, port: settings.port }, 'HTTP service listening');
    return {
      app,
      installation,
      url,
      async close() {
        await app.close();
        await installation.close();
        logger.info({ event: 'http-stop' }, 'HTTP service stopped');
      },
    };
  } catch (error) {
    await installation.close();
    throw error;
  }
}
