import { TwoStepError } from './errors';
import { POLICY_VALUES, type PolicySetting, type PolicyValue } from './model';

export const POLICY_LEVELS = ['account', 'class', 'domain', 'global'] as const;
export type PolicyLevel = (typeof POLICY_LEVELS)[number] | 'default';

export interface PolicyLevels {
  readonly global?: PolicySetting;
  readonly domain?: PolicySetting;
  readonly class?: PolicySetting;
  readonly account?: PolicySetting;
}

export interface EffectivePolicy {
  readonly policy: PolicyValue;
  /** The level the value came from; `default` when no level sets one. */
  readonly source: PolicyLevel;
}

/** The shipped default when no level sets a policy. */
export const DEFAULT_POLICY: PolicyValue = 'optional';

/** Resolves the effective policy: the most specific level that is set (not `inherit`) wins. */
export function resolvePolicy(levels: PolicyLevels, fallback: PolicyValue = DEFAULT_POLICY): EffectivePolicy {
  for (const level of POLICY_LEVELS) {
    const setting = levels[level];
    if (setting !== undefined && setting !== 'inherit') {
      return { policy: setting, source: level };
    }
  }
  return { policy: fallback, source: 'default' };
}

/**
 * Parses a policy setting as typed in config, the CLI or a form.
 * @throws TwoStepError ERR_INVALID_POLICY naming the accepted values.
 */
export function parsePolicySetting(raw: unknown): PolicySetting {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (value === 'inherit' || (POLICY_VALUES as readonly string[]).includes(value)) {
    return value as PolicySetting;
  }
  return invalidPolicy(raw);
}

function invalidPolicy(raw: unknown): never {
  throw new TwoStepError(
    'ERR_INVALID_POLICY',
    `invalid policy "${String(raw).slice(0, 40)}": expected disabled, optional, mandatory or inherit`,
  );
}
