import assert from 'node:assert/strict';
import { parsePolicySetting, resolvePolicy, type PolicyLevels } from '../../src/core/policy';
import type { PolicySetting } from '../../src/core/model';
import { isTwoStepError } from '../../src/core/errors';

const SETTINGS: readonly (PolicySetting | undefined)[] = [undefined, 'inherit', 'disabled', 'optional', 'mandatory'];

describe('resolvePolicy', () => {
  it('every combination of levels: the most specific set level wins', () => {
    let combinations = 0;
    for (const global of SETTINGS) {
      for (const domain of SETTINGS) {
        for (const accountClass of SETTINGS) {
          for (const account of SETTINGS) {
            const levels: PolicyLevels = { global, domain, class: accountClass, account };
            const ordered: Array<[PolicySetting | undefined, string]> = [
              [account, 'account'],
              [accountClass, 'class'],
              [domain, 'domain'],
              [global, 'global'],
            ];
            const winner = ordered.find(([value]) => value !== undefined && value !== 'inherit');
            const expected = winner ? { policy: winner[0], source: winner[1] } : { policy: 'optional', source: 'default' };
            assert.deepEqual(resolvePolicy(levels), expected, JSON.stringify(levels));
            combinations++;
          }
        }
      }
    }
    assert.equal(combinations, 625);
  });

  it('the shipped default is optional', () => {
    assert.deepEqual(resolvePolicy({}), { policy: 'optional', source: 'default' });
  });
});

describe('parsePolicySetting', () => {
  it('accepts the four values in any case', () => {
    assert.equal(parsePolicySetting(' Mandatory '), 'mandatory');
    assert.equal(parsePolicySetting('inherit'), 'inherit');
  });

  it('rejects other values naming the accepted ones', () => {
    assert.throws(
      () => parsePolicySetting('required'),
      (error: unknown) => isTwoStepError(error, 'ERR_INVALID_POLICY') && /disabled, optional, mandatory or inherit/.test(error.message),
    );
  });
});
