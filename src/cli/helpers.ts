import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { normalizeAccount } from '../core/account';
import type { Actor } from '../core/accounts';
import { TwoStepError, isTwoStepError } from '../core/errors';
import { loadAccountState } from '../core/state';
import { defaultConfigDir, openInstallation, type Installation } from '../installation';
import { cliLogger } from './logger';
import { UsageError } from './errors';
import { Output } from './output';

/** Options defined on the program and accepted by every command. */
export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
}

/** What an action works with; the installation is opened only when the action requests it. */
export interface CliSession {
  readonly output: Output;
  /** The audit actor, `cli:<os user name>`. */
  readonly actor: Actor;
  readonly globals: GlobalOptions;
  /** Opens the installation once; `action` closes it when the handler ends. */
  open(): Promise<Installation>;
}

export type ActionHandler<O> = (session: CliSession, args: string[], options: O) => Promise<void>;

/** The shared tools each command module gets in `register`. */
export interface CliHelpers {
  /** Sets a command's action: `handler` gets the session, the declared arguments and the command's own options. */
  action<O = Record<string, never>>(command: Command, handler: ActionHandler<O>): Command;
  /**
   * Normalises an account and checks that the passwd file or the store contains it, so a typing
   * mistake does not create TwoStep state for an account that does not exist.
   * @throws TwoStepError ERR_INVALID_ACCOUNT or ERR_NOT_FOUND.
   */
  requireAccount(installation: Installation, raw: string): Promise<string>;
}

/** A command group in src/cli/commands/: it adds its commands to the program. */
export interface CommandModule {
  register(program: Command, helpers: CliHelpers): void;
}

/** Names the operator in the audit log; falls back to the environment when the uid has no passwd entry. */
export function cliActor(env: NodeJS.ProcessEnv = process.env): Actor {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.LOGNAME;
  }
  return { actor: `cli:${name || `uid-${process.getuid?.() ?? 'unknown'}`}` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Opens the installation named by --config, or the local one of `npm start`. The folder must
 * exist: a mistyped --config would otherwise create a new, empty installation next to it.
 * @throws TwoStepError ERR_INVALID_CONFIG, ERR_ENCRYPTION_KEY or ERR_STORE_UNAVAILABLE.
 */
export async function openCliInstallation(globals: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<Installation> {
  const configDir = globals.config !== undefined ? resolve(globals.config) : defaultConfigDir(env);
  if (!isDirectory(configDir)) {
    const message =
      globals.config !== undefined
        ? `config folder ${configDir} not found: --config must name the config folder of an existing Haraka instance`
        : `no TwoStep installation at ${configDir}: run "npm start" once, set TWOSTEP_HOME to its folder, or give --config DIR`;
    throw new TwoStepError('ERR_INVALID_CONFIG', message);
  }
  try {
    return await openInstallation({ configDir, env, logger: cliLogger((line) => process.stderr.write(line)) });
  } catch (error) {
    if (isTwoStepError(error)) {
      throw error;
    }
    // For example a data folder that cannot be created: the installation's files need fixing.
    throw new TwoStepError('ERR_INVALID_CONFIG', `cannot open the installation in ${configDir}: ${(error as Error).message}`, { cause: error });
  }
}

async function requireAccount(installation: Installation, raw: string): Promise<string> {
  const account = normalizeAccount(raw);
  const { stored } = await loadAccountState(installation.context, account);
  if (stored || (await installation.backend.hasAccount(account))) {
    return account;
  }
  const passwdFile = installation.passwdFile;
  if (passwdFile && !(await passwdFile.exists())) {
    throw new TwoStepError(
      'ERR_INVALID_CONFIG',
      `account ${account} not found: the passwd file ${passwdFile.path} does not exist; fix [backend] passwd_file in twostep.ini, or create it with "twostep passwd ${account}"`,
    );
  }
  throw new TwoStepError(
    'ERR_NOT_FOUND',
    `account ${account} not found in the passwd file or the TwoStep store: check the spelling, or add it with "twostep passwd ${account}"`,
  );
}

/** Builds the helpers that every command module gets. */
export function createHelpers(env: NodeJS.ProcessEnv = process.env): CliHelpers {
  return {
    requireAccount,
    action<O>(command: Command, handler: ActionHandler<O>): Command {
      return command.action(async (...received: unknown[]) => {
        const invoked = received[received.length - 1] as Command;
        const globals = invoked.optsWithGlobals<GlobalOptions>();
        const options = invoked.opts<O & GlobalOptions>();
        let opened: Promise<Installation> | undefined;
        const session: CliSession = {
          output: new Output(globals.json === true),
          actor: cliActor(env),
          globals,
          open: () => (opened ??= openCliInstallation(globals, env)),
        };
        try {
          await handler(session, invoked.processedArgs as string[], options);
        } finally {
          if (opened) {
            // A failed open has nothing to close; its error is already on its way to the caller.
            const installation = await opened.catch(() => undefined);
            await installation?.close();
          }
        }
      });
    },
  };
}

/** Rejects a command line that gives none or more than one of a set of options. */
export function requireExactlyOne(options: Record<string, unknown>, names: readonly string[]): string {
  const present = names.filter((name) => options[name] !== undefined && options[name] !== false);
  if (present.length !== 1) {
    throw new UsageError(`give exactly one of ${names.map((name) => `--${name}`).join(', ')}`);
  }
  return present[0];
}
