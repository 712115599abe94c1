import type { FastifyInstance } from 'fastify';
import type { Installation } from '../installation';

/**
 * Registers the endpoints that other servers call to decide a login: `/auth/nginx` for
 * nginx's mail proxy and `/auth/dovecot` for the Dovecot Lua passdb.
 */
export async function registerAuthRoutes(_app: FastifyInstance, _installation: Installation): Promise<void> {
  // TODO: the nginx and Dovecot endpoints are not implemented yet.
}
