import assert from 'node:assert/strict';
import { isTwoStepError } from '../../src/core/errors';
import { DEFAULT_HTTP_SETTINGS, readHttpSettings } from '../../src/web/settings';

describe('readHttpSettings', () => {
  it('defaults to loopback port 8025', () => {
    assert.deepEqual(readHttpSettings({}, {}), DEFAULT_HTTP_SETTINGS);
  });

  it('reads http and session keys', () => {
    const settings = readHttpSettings(
      {
        http: { host: '0.0.0.0', port: '9000', trust_proxy: '127.0.0.1, 10.0.0.0/8', cookie_secure: 'true', sign_in_rate_limit: '5' },
        session: { idle_timeout: '600', max_age: '3600', reverify_window: '120' },
      },
      {},
    );
    assert.equal(settings.host, '0.0.0.0');
    assert.equal(settings.port, 9000);
    assert.deepEqual(settings.trustProxy, ['127.0.0.1', '10.0.0.0/8']);
    assert.equal(settings.cookieSecure, 'always');
    assert.equal(settings.signInRateLimit, 5);
    assert.equal(settings.sessionIdleMs, 600_000);
    assert.equal(settings.sessionMaxAgeMs, 3_600_000);
    assert.equal(settings.reverifyWindowMs, 120_000);
  });

  it('environment port wins over the ini', () => {
    assert.equal(readHttpSettings({ http: { port: '9000' } }, { TWOSTEP_HTTP_PORT: '9100' }).port, 9100);
  });

  it('rejects invalid values naming the key', () => {
    const cases: [Record<string, Record<string, string>>, NodeJS.ProcessEnv, RegExp][] = [
      [{ http: { port: '70000' } }, {}, /\[http\] port = 70000: expected a whole number from 1 to 65535/],
      [{}, { TWOSTEP_HTTP_PORT: 'abc' }, /TWOSTEP_HTTP_PORT = abc/],
      [{ http: { trust_proxy: 'proxy.example' } }, {}, /trust_proxy entry "proxy.example"/],
      [{ http: { cookie_secure: 'maybe' } }, {}, /cookie_secure = maybe: expected auto, true or false/],
      [{ session: { idle_timeout: '10' } }, {}, /\[session\] idle_timeout = 10/],
    ];
    for (const [ini, env, message] of cases) {
      assert.throws(
        () => readHttpSettings(ini, env),
        (error: unknown) => isTwoStepError(error, 'ERR_INVALID_CONFIG') && message.test(error.message),
        JSON.stringify(ini),
      );
    }
  });
});
