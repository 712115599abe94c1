import assert from 'node:assert/strict';
import { randomId } from '../../src/core/secrets';

describe('record ids', () => {
  it('are 12 letters and digits', () => {
    // A base64url id starts with "-" one time in 64, and the CLI would read it as an option.
    const ids = Array.from({ length: 10_000 }, () => randomId());
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9]{12}$/);
    }
    assert.equal(new Set(ids).size, ids.length, 'ids repeat');
  });
});
