import assert from 'node:assert/strict';
import { openStore } from '../../src/store';

describe('Store URL', () => {
  it('names an invalid URL', () => {
    assert.throws(() => openStore('mysql://127.0.0.1/mail', '/nonexistent'), {
      code: 'ERR_INVALID_CONFIG',
      message: 'invalid [store] url "mysql://127.0.0.1/mail": expected empty, sqlite://PATH or redis://HOST:PORT',
    });
  });

  it('leaves out the password of an invalid URL', () => {
    assert.throws(() => openStore('mysql://mail:s3cret-pass@127.0.0.1/mail', '/nonexistent'), (error: Error) => {
      assert.equal(error.message, 'invalid [store] url "mysql://…@127.0.0.1/mail": expected empty, sqlite://PATH or redis://HOST:PORT');
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});
