import assert from 'node:assert/strict';
import { settingsReadAtOpen } from '../../src/installation';

describe('settings needing a restart', () => {
  const opened = {
    main: { data_dir: 'twostep-data', issuer: 'Example' },
    store: { url: '' },
    backend: { type: 'passwd-file', passwd_file: 'passwd' },
    policy: { global: 'optional' },
    notify: { enabled: 'true', smtp_host: '127.0.0.1' },
  };

  it('none when only live settings change', () => {
    assert.deepEqual(settingsReadAtOpen(opened, { ...opened, main: { ...opened.main, issuer: 'Other' }, policy: { global: 'mandatory' } }), []);
  });

  it('lists changed open-time settings', () => {
    const current = {
      ...opened,
      backend: { type: 'ldap', passwd_file: '/etc/dovecot/users' },
      store: { url: 'redis://127.0.0.1:6379' },
      notify: { enabled: 'true', smtp_host: '127.0.0.1', smtp_port: '2525' },
    };
    assert.deepEqual(settingsReadAtOpen(opened, current), ['[store] url', '[backend] type', '[notify] smtp_port']);
  });

  it('a removed setting counts as changed', () => {
    const { backend: _removed, ...withoutBackend } = opened;
    assert.deepEqual(settingsReadAtOpen(opened, withoutBackend), ['[backend] type']);
  });
});
