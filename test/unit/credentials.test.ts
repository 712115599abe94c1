import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitPasswordAndCode } from '../../src/core/credentials';

describe('splitPasswordAndCode', () => {
  it('splits a password that ends in digits', () => {
    assert.deepEqual(splitPasswordAndCode('Winter2024123456081804', 6), { password: 'Winter2024123456', code: '081804' });
  });

  it('keeps spaces in the password', () => {
    assert.deepEqual(splitPasswordAndCode('my pass 123456', 6), { password: 'my pass ', code: '123456' });
  });

  it('rejects a secret too short to hold a code', () => {
    assert.equal(splitPasswordAndCode('12345', 6), undefined);
    assert.equal(splitPasswordAndCode('081804', 6), undefined);
  });

  it('rejects when the last characters are not digits', () => {
    assert.equal(splitPasswordAndCode('password12345x', 6), undefined);
  });

  it('takes only ASCII digits', () => {
    assert.equal(splitPasswordAndCode('password١٢٣٤٥٦', 6), undefined);
  });

  it('property: password + code splits back exactly', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.stringMatching(/^[0-9]{6}$/), (password, code) => {
        assert.deepEqual(splitPasswordAndCode(password + code, 6), { password, code });
      }),
    );
  });

  it('property: never returns an empty password', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (secret) => {
        const parts = splitPasswordAndCode(secret, 6);
        if (parts) {
          assert.ok(parts.password.length > 0);
          assert.match(parts.code, /^[0-9]{6}$/);
          assert.equal(parts.password + parts.code, secret);
        }
      }),
    );
  });
});
