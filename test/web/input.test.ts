import assert from 'node:assert/strict';
import { readCode } from '../../src/web/input';

describe('panel code field', () => {
  it('joins a code typed in groups', () => {
    assert.equal(readCode({ code: '081 804' }), '081804');
    assert.equal(readCode({ code: '1234 5678' }), '12345678');
    assert.equal(readCode({ code: '08 18 04' }), '081804');
  });

  it('passes other input on as typed', () => {
    for (const typed of [' 081804', '081804 ', '081  804', '8180 4', '23456 78923', 'abcde-fghjk', '081 80a']) {
      assert.equal(readCode({ code: typed }), typed, JSON.stringify(typed));
    }
  });
});
