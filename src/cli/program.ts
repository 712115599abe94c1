import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../installation';
import { COMMAND_GROUPS, loadCommandModule } from './commands';
import { describeError, errorLine, formatCommanderError } from './errors';
import { createHelpers, type CliHelpers } from './helpers';

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

/** Builds the `twostep` program with every command group registered. */
export function buildProgram(helpers: CliHelpers = createHelpers()): Command {
  const program = new Command('twostep');
  // Settings made before .command() are inherited by every subcommand.
  program
    .description('Administer TwoStep, 2-Step Verification for the SMTP, IMAP and POP3 logins of a mail server.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--config <dir>', 'config folder of the Haraka instance to administer (default: $TWOSTEP_HOME/config, where TWOSTEP_HOME defaults to ./.twostep)')
    .option('--json', 'print the result as one JSON document on stdout')
    .helpOption('-h, --help', 'show help for the command')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ outputError: (text, write) => write(formatCommanderError(text)) })
    .showSuggestionAfterError(true)
    .exitOverride();

  for (const name of COMMAND_GROUPS) {
    loadCommandModule(name).register(program, helpers);
  }
  return program;
}

/** Runs the CLI and returns the exit status; expected errors become one `twostep: …` line on stderr. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    await buildProgram(createHelpers(env)).parseAsync([...argv]);
    return 0;
  } catch (error) {
    const report = describeError(error);
    if (report.message !== undefined) {
      process.stderr.write(errorLine(report.message));
    }
    if (env.TWOSTEP_DEBUG === '1' && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    return report.exitCode;
  }
}
