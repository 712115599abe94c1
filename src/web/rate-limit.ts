import type { WebContext } from './flows';

/**
 * Per-IP request limit of the sign-in, code and re-verification routes, on top of the core's
 * per-account throttling delays. Each route counts on its own, in this process only.
 */
export function signInRateLimit(web: WebContext): { max: number; timeWindow: number } {
  return { max: web.settings.signInRateLimit, timeWindow: 60_000 };
}
