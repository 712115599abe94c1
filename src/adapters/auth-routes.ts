import type { FastifyInstance } from 'fastify';
import type { Installation } from '../installation';
import { checkAuthKey, loadAuthKey } from './auth-key';
import { parseBackendRouting } from './backend-servers';
import { answerDovecotAuth } from './dovecot';
import { answerNginxAuth } from './nginx';

const FORM_TYPE = 'application/x-www-form-urlencoded';
/** Auth requests are a few short fields; anything larger is not from nginx or Dovecot. */
const BODY_LIMIT = 8 * 1024;

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Registers the endpoints that other servers call to decide a login: `/auth/nginx` for
 * nginx's mail proxy and `/auth/dovecot` for the Dovecot Lua passdb. Both require the
 * shared key in the `X-TwoStep-Key` header. Pass a function to follow an installation whose
 * settings are reloaded.
 * @throws TwoStepError ERR_INVALID_CONFIG for a bad `[nginx]`, `[nginx_domains]` or `[auth_endpoints]` setting.
 */
export async function registerAuthRoutes(app: FastifyInstance, installation: Installation | (() => Installation)): Promise<void> {
  const current = typeof installation === 'function' ? installation : () => installation;
  const key = await loadAuthKey(current());
  // Settings follow twostep.ini reloads: the routing is parsed again whenever the ini object changes.
  let routingFor = current().ini;
  let routing = parseBackendRouting(routingFor);
  const settings = () => {
    const { ini, context } = current();
    if (ini !== routingFor) {
      try {
        routing = parseBackendRouting(ini);
        routingFor = ini;
      } catch (error) {
        context.logger.error({ event: 'config-reload', cause: (error as Error).message }, 'invalid [nginx] settings after a reload; keeping the previous ones');
        routingFor = ini;
      }
    }
    return { context, routing };
  };

  await app.register(async (scope) => {
    // The panel may already parse forms with @fastify/formbody; a second parser for the same type would fail to register.
    if (!scope.hasContentTypeParser(FORM_TYPE)) {
      scope.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });
    }

    scope.get('/auth/nginx', async (request, reply) => {
      const { context, routing } = settings();
      if (!checkAuthKey(request, reply, key, context.logger)) {
        return reply;
      }
      const result = await answerNginxAuth(context, routing, request.headers);
      if (result.status === 400) {
        context.logger.warn({ event: 'nginx-auth', ip: request.ip, result: 'invalid-request' }, result.error);
        return reply.code(400).type('text/plain').send(`${result.error}\n`);
      }
      return reply.code(200).headers(result.headers).send('');
    });

    scope.post('/auth/dovecot', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const { context } = settings();
      if (!checkAuthKey(request, reply, key, context.logger)) {
        return reply;
      }
      const result = await answerDovecotAuth(context, request.body);
      if (result.status === 400 && result.body.result === 'invalid-request') {
        context.logger.warn({ event: 'dovecot-auth', ip: request.ip, result: 'invalid-request' }, result.body.error);
      }
      if (result.delayMs > 0) {
        await sleep(result.delayMs);
      }
      void reply.code(result.status).header('Cache-Control', 'no-store');
      // The Lua script has no JSON parser: it requests text/plain and gets the password without the code.
      if (String(request.headers.accept ?? '').includes('text/plain')) {
        let text: string = result.body.result;
        if (result.body.result === 'accepted') {
          text = result.body.password;
        } else if (result.body.result === 'invalid-request') {
          text = result.body.error;
        }
        return reply.type('text/plain; charset=utf-8').send(text);
      }
      return reply.send(result.body);
    });
  });
}
