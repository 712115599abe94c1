// `npm start`: the one-command local stack. Starts Haraka with the twostep plugin as an SMTP
// submission server on 127.0.0.1, with all state in TWOSTEP_HOME (default ./.twostep).
import { createLogger } from '../logger';
import { defaultHome, openInstallation, type Installation } from '../installation';
import { SqliteStore } from '../store/sqlite';
import { prepareHarakaInstance, spawnHaraka } from './haraka-instance';
import { buildHttpService } from '../web/server';
import { readHttpSettings } from '../web/settings';

function readPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid ${name}=${raw}: expected a TCP port from 1 to 65535`);
  }
  return port;
}

/** Names where the state is kept, without the Redis URL, which may contain a password. */
function describeStore(installation: Installation): string {
  const { store } = installation.context;
  return store instanceof SqliteStore ? `SQLite file ${store.path}` : 'Redis, from [store] url in config/twostep.ini';
}

async function main(): Promise<void> {
  const logger = createLogger('twostep-stack');
  const home = defaultHome();
  const smtpPort = readPort('TWOSTEP_SMTP_PORT', 2587);
  const httpPort = readPort('TWOSTEP_HTTP_PORT', 8025);

  await prepareHarakaInstance({ home, smtpPort, httpPort });
  // Opening the installation once here creates the data folder, the store and the encryption
  // key before Haraka's workers start, and fails early with a clear message on a wrong key.
  const installation = await openInstallation({ configDir: `${home}/config`, logger, batchActivity: true });

  // The panel runs in this process, on the same store as Haraka's workers.
  const httpSettings = readHttpSettings(installation.ini);
  const http = await buildHttpService(installation, { settings: httpSettings, logger, watchConfig: true });
  await http.listen({ host: httpSettings.host, port: httpSettings.port });
  const panelUrl = `http://${httpSettings.host}:${httpSettings.port}/`;

  const haraka = spawnHaraka(home);
  haraka.stdout?.pipe(process.stdout);
  haraka.stderr?.pipe(process.stderr);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping the TwoStep stack');
    // SIGINT is Haraka's own stop signal: it exits through process.exit(), where the twostep
    // plugin writes its waiting login activity.
    haraka.kill('SIGINT');
    const forceTimer = setTimeout(() => haraka.kill('SIGKILL'), 5000);
    forceTimer.unref();
    void http
      .close()
      .finally(() => installation.close())
      .finally(() => logger.info({ event: 'stack-stop' }, 'TwoStep stack stopped'));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  haraka.on('exit', (code, signal) => {
    if (!stopping) {
      logger.error({ exit_code: code ?? undefined, signal: signal ?? undefined }, 'Haraka exited unexpectedly');
      process.exitCode = 1;
    }
    void http
      .close()
      .then(() => installation.close())
      .finally(() => process.exit());
  });

  process.stdout.write(
    [
      '',
      `TwoStep is running in ${home}`,
      `  Store:           ${describeStore(installation)}`,
      `  SMTP submission: 127.0.0.1:${smtpPort} (STARTTLS, self-signed certificate; AUTH PLAIN/LOGIN after STARTTLS)`,
      `  Web panel:       ${panelUrl}`,
      '',
      'Next steps, in another terminal:',
      "  printf '%s\\n' 'a-long-password' | npx twostep passwd alice@example.test",
      `  Open ${panelUrl} and sign in as alice@example.test to turn on 2-Step Verification, or:`,
      '  npx twostep secret reset alice@example.test     # prints the QR code and otpauth link',
      '  npx twostep code alice@example.test             # the current verification code',
      `  Sign in over SMTP as alice@example.test with the password followed by the code.`,
      '  npx twostep app-password add alice@example.test --name Thunderbird --scope smtp,imap',
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error: Error) => {
  process.stderr.write(`twostep: cannot start: ${error.message}\n`);
  process.exit(1);
});
