import assert from 'node:assert/strict';
import * as twostepPlugin from '../../plugins/twostep';

type LogCall = readonly unknown[];

/** Builds the parts of a Haraka plugin object that register() uses, recording each log call in `calls`. */
function fakePlugin(calls: LogCall[]) {
  return {
    name: 'twostep',
    base: {},
    blankout_password: false,
    inherits() {},
    config: { get: () => ({}) },
    loginfo: (...args: unknown[]) => calls.push(['info', ...args]),
    logwarn: (...args: unknown[]) => calls.push(['warn', ...args]),
    logerror: (...args: unknown[]) => calls.push(['error', ...args]),
  } as unknown as ThisParameterType<typeof twostepPlugin.register> & { twostep_logger: { info: (fields: object, message: string) => void } };
}

describe('Haraka plugin start', () => {
  it('rejects an unknown backend type', () => {
    const plugin = fakePlugin([]);
    plugin.config.get = () => ({ backend: { type: 'ldap' } });
    assert.throws(() => twostepPlugin.register.call(plugin), {
      code: 'ERR_INVALID_CONFIG',
      message: 'invalid twostep.ini [backend] type = ldap: expected passwd-file',
      // Haraka prints the stack: one line, without the frames.
      stack: 'TwoStepError: invalid twostep.ini [backend] type = ldap: expected passwd-file',
    });
  });
});

describe('Haraka plugin log fields', () => {
  it('passes fields to Haraka unformatted', () => {
    const calls: LogCall[] = [];
    const plugin = fakePlugin(calls);
    twostepPlugin.register.call(plugin);
    plugin.twostep_logger.info({ event: 'login', account: 'alice@example.org', delay_ms: 0, skipped: undefined }, 'login accepted');
    // No third argument: Haraka would append an undefined one to the message as "undefined".
    assert.deepEqual(calls, [['info', 'login accepted', { event: 'login', account: 'alice@example.org', delay_ms: 0 }]]);
  });

  it('renames name and uuid fields', () => {
    // Haraka's logger would read these two keys as the origin or connection id of the line.
    const calls: LogCall[] = [];
    const plugin = fakePlugin(calls);
    twostepPlugin.register.call(plugin);
    plugin.twostep_logger.info({ name: 'Phone', uuid: 'abc' }, 'device added');
    assert.deepEqual(calls, [['info', 'device added', { field_name: 'Phone', field_uuid: 'abc' }]]);
  });
});
