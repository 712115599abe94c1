import type { CommandModule } from '../helpers';

/**
 * The command groups, in the order `twostep --help` lists them. Each name is a module in this
 * folder that exports `register(program, helpers)`; adding a group is one line here.
 */
export const COMMAND_GROUPS: readonly string[] = [
  'passwd',
  'secret',
  'code',
  'devices',
  'policy',
  'app-password',
  'recovery-codes',
  'status',
  'unlock',
  'class',
  'domain',
  'branding',
  'accounts',
  'audit',
  'serve',
  'migrate',
  'auth-key',
  'checkpassword',
];

/** Loads one command group module and checks its shape. */
export function loadCommandModule(name: string): CommandModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(`./${name}`) as Partial<CommandModule>;
  if (typeof loaded.register !== 'function') {
    throw new Error(`command module ${name} does not export register(program, helpers)`);
  }
  return loaded as CommandModule;
}
