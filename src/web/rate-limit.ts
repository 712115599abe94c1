import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { keys } from '../core/model';
import type { Store } from '../store/types';
import type { WebContext } from './flows';

/** Length of the rate-limit window of the sign-in routes. */
const SIGN_IN_WINDOW_MS = 60_000;

/**
 * Per-IP request limit of the sign-in, code and re-verification routes, on top of the core's
 * per-account throttling delays. Each route counts on its own, in the shared store.
 */
export function signInRateLimit(web: WebContext): { max: number; timeWindow: number } {
  return { max: web.settings.signInRateLimit, timeWindow: SIGN_IN_WINDOW_MS };
}

type Counted = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The route options that @fastify/rate-limit passes to `child()`. */
interface RouteLimitOptions {
  readonly routeInfo?: { readonly method?: string | readonly string[]; readonly url?: string };
}

/**
 * Returns a @fastify/rate-limit store class that counts in the TwoStep store that `store()`
 * returns. Panel processes that share one store (a Redis server, or one SQLite file) then share
 * each limit, where the plugin's default store counts in each process's memory.
 */
export function sharedRateLimitStore(store: () => Store): FastifyRateLimitStoreCtor {
  class SharedRateLimitStore implements FastifyRateLimitStore {
    constructor(
      _options: unknown,
      private readonly route = '',
    ) {}

    /** Counts one request of `key` (the client address) in its route's window. */
    incr(key: string, callback: Counted, timeWindow = SIGN_IN_WINDOW_MS): void {
      store().increment(keys.rateLimit(this.route, key), timeWindow).then(
        // The store does not return the time left in a window, so the reply names the whole
        // window as the time to wait: a client that waits that long is let in.
        (current) => callback(null, { current, ttl: timeWindow }),
        (error: Error) => callback(error),
      );
    }

    child(options: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // @fastify/rate-limit 10 passes the route's limit settings with the route in `routeInfo`,
      // not the route options that its types name.
      const route = (options as unknown as RouteLimitOptions).routeInfo;
      const method = Array.isArray(route?.method) ? route.method.join(',') : (route?.method ?? '');
      return new SharedRateLimitStore(options, `${method} ${route?.url ?? ''}`);
    }
  }
  return SharedRateLimitStore;
}
