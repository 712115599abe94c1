import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildHttpService, type HttpServiceOptions } from '../../src/web/server';
import { createTestInstallation, type TestInstallation } from '../helpers/installation';
import { generateCode } from '../../src/core/totp';

export type FormFields = Record<string, string | readonly string[]>;

/** Encodes form fields as a browser does, repeating a name for each value of a list. */
export function encodeForm(fields: FormFields): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const entry of typeof value === 'string' ? [value] : value) {
      params.append(name, entry);
    }
  }
  return params.toString();
}

/**
 * A browser stand-in over `app.inject()`: keeps the session cookie and the CSRF token of the
 * last page or JSON reply, and sends both back.
 */
export class PanelClient {
  cookies = new Map<string, string>();
  csrfToken: string | undefined;
  readonly locations: string[] = [];

  constructor(readonly app: FastifyInstance) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private absorb(response: LightMyRequestResponse): LightMyRequestResponse {
    const header = response.headers['set-cookie'];
    for (const line of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
      const [pair] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /Expires=Thu, 01 Jan 1970/i.test(line)) {
        this.cookies.delete(name);
      } else {
        this.cookies.set(name, value);
      }
    }
    if (typeof response.headers.location === 'string') {
      this.locations.push(response.headers.location);
    }
    const type = String(response.headers['content-type'] ?? '');
    if (type.startsWith('text/html')) {
      const tokens = [...response.body.matchAll(/name="_csrf" value="([^"]+)"/g)];
      if (tokens.length > 0) {
        this.csrfToken = tokens[tokens.length - 1][1];
      }
    } else if (type.startsWith('application/json')) {
      const parsed = JSON.parse(response.body) as { csrfToken?: string };
      if (typeof parsed.csrfToken === 'string') {
        this.csrfToken = parsed.csrfToken;
      }
    }
    return response;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.absorb(await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader } }));
  }

  /** Submits a form with the current CSRF token unless `_csrf` is given. */
  async post(url: string, fields: FormFields = {}): Promise<LightMyRequestResponse> {
    const body = { _csrf: this.csrfToken ?? '', ...fields };
    return this.absorb(
      await this.app.inject({
        method: 'POST',
        url,
        headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
        payload: encodeForm(body),
      }),
    );
  }

  /** Calls the JSON API with the CSRF token in the X-CSRF-Token header; `null` sends none. */
  async api(method: 'GET' | 'POST', url: string, json?: unknown, csrfToken: string | null = this.csrfToken ?? null): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { cookie: this.cookieHeader };
    if (csrfToken !== null) {
      headers['x-csrf-token'] = csrfToken;
    }
    return this.absorb(await this.app.inject({ method, url, headers, ...(json === undefined ? {} : { payload: json as object }) }));
  }

  /** Signs in through the pages; `code` is sent when the code page comes. Returns the last reply. */
  async signIn(account: string, password: string, code?: string): Promise<LightMyRequestResponse> {
    await this.get('/sign-in');
    const first = await this.post('/sign-in', { account, password });
    if (first.headers.location !== '/sign-in/code') {
      return first;
    }
    await this.get('/sign-in/code');
    return this.post('/sign-in/code', { code: code ?? '' });
  }
}

export interface PanelFixture {
  readonly installation: TestInstallation;
  readonly app: FastifyInstance;
  readonly sleeps: number[];
  dispose(): Promise<void>;
}

/** Default test config: no throttling delay, so failures reply at once. */
export const FAST_INI = '[throttle]\nmax_delay = 0\n';

/** Creates a test installation with one account and the HTTP service on it (not listening). */
export async function createPanelFixture(iniText = FAST_INI, options: HttpServiceOptions = {}): Promise<PanelFixture> {
  const installation = await createTestInstallation({ iniText });
  await installation.passwdFile!.setPassword(ALICE, ALICE_PASSWORD);
  const sleeps: number[] = [];
  const app = await buildHttpService(installation, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return {
    installation,
    app,
    sleeps,
    async dispose() {
      await app.close();
      await installation.dispose();
    },
  };
}

export const ALICE = 'alice@example.org';
export const ALICE_PASSWORD = 'correct horse battery';

/** Reads the secret key shown on the pairing page, without the spaces between groups. */
export function secretKeyFromPage(html: string): string {
  const match = /<code class="secret-key" id="secret-key">([A-Z2-7 ]+)<\/code>/.exec(html);
  if (!match) {
    throw new Error('no secret key on the page');
  }
  return match[1].replace(/ /g, '');
}

export function recoveryCodesFromPage(html: string): string[] {
  return [...html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((match) => match[1]);
}

/** Computes the code an authenticator app shows at the installation's current time. */
export async function currentCode(installation: TestInstallation, secretKey: string): Promise<string> {
  return generateCode(secretKey, Math.floor(installation.clock.now() / 1000));
}

/**
 * Turns 2-Step Verification on for a signed-in client through the pages and returns the
 * secret key and the recovery codes. Advances the clock one time step afterwards, so the
 * next code is not a replay of the pairing code.
 */
export async function enroll(client: PanelClient, installation: TestInstallation, deviceName = 'Phone'): Promise<{ secretKey: string; recoveryCodes: string[] }> {
  await client.get('/settings/2sv/pair');
  await client.post('/settings/2sv/pair', { name: deviceName });
  const page = await client.get('/settings/2sv/pair');
  const secretKey = secretKeyFromPage(page.body);
  const confirmed = await client.post('/settings/2sv/confirm', { code: await currentCode(installation, secretKey) });
  installation.clock.advanceSeconds(30);
  return { secretKey, recoveryCodes: recoveryCodesFromPage(confirmed.body) };
}
