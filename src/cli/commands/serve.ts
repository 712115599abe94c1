import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { TwoStepError } from '../../core/errors';
import { defaultConfigDir } from '../../installation';
import { runServe } from '../../web/serve';
import type { CliHelpers } from '../helpers';
import { parseCount } from '../parse';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('serve')
    .description('run the HTTP service (web panel, JSON API, nginx and Dovecot auth endpoints) until Ctrl-C')
    .option('--host <address>', 'listen address (default: [http] host, 127.0.0.1)')
    .option('--port <port>', 'TCP port (default: [http] port or TWOSTEP_HTTP_PORT, 8025)');

  helpers.action<{ host?: string; port?: string }>(command, async (session, _args, options) => {
    const configDir = session.globals.config !== undefined ? resolve(session.globals.config) : defaultConfigDir();
    if (!existsSync(configDir)) {
      throw new TwoStepError('ERR_INVALID_CONFIG', `config folder ${configDir} not found: give --config DIR or run "npm start" once`);
    }
    await runServe({ configDir, host: options.host, port: options.port === undefined ? undefined : parseCount(options.port, '--port', 1, 65535) });
    // runServe exits the process on SIGINT or SIGTERM; until then this command keeps running.
    await new Promise<never>(() => undefined);
  });
}
