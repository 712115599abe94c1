import { startHttpService, type RunningHttpService, type StartOptions } from './server';

/**
 * `twostep serve`: runs the HTTP service until SIGINT or SIGTERM and prints its address.
 * Resolves once the service listens.
 */
export async function runServe(options: StartOptions = {}): Promise<RunningHttpService> {
  const service = await startHttpService(options);
  process.stdout.write(`TwoStep web panel: ${service.url}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) {
      return;
    }
    stopping = true;
    service.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`twostep serve: stop failed: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return service;
}
