import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** `redis://127.0.0.1:PORT`, plus `?namespace=…` when given. */
  url(namespace?: string): string;
  /** Stops the server by its process id and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 and a free port, without persistence, so no
 * file is written and nothing outlives the test run.
 */
export async function startRedis(fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort());
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, 10_000);
  const pid = child.pid!;
  return {
    port,
    pid,
    url: (namespace?: string) => `redis://127.0.0.1:${port}${namespace ? `?namespace=${namespace}` : ''}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGTERM');
        await exited;
      }
    },
  };
}
