import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runCheckpassword } from '../../adapters/checkpassword';
import type { CliHelpers } from '../helpers';

export function register(program: Command, _helpers: CliHelpers): void {
  program
    .command('checkpassword')
    .description('checkpassword program for Dovecot 2.3: reads user and password from fd 3; exit 1 rejected, 111 temporary failure')
    .argument('<reply-program...>', 'the program Dovecot passes (checkpassword-reply) and its arguments')
    .allowUnknownOption()
    .action(async (replyProgram: string[], _options: unknown, command: Command) => {
      // This command exits with the codes that Dovecot defines, not the CLI's own.
      const globals = command.optsWithGlobals<{ config?: string }>();
      const code = await runCheckpassword(replyProgram, { configDir: globals.config !== undefined ? resolve(globals.config) : undefined });
      process.exit(code);
    });
}
