// The HTTP service measured by the benchmark, run as its own process so its memory and CPU
// are its own: TwoStep's auth routes plus a trivial responder on the same Fastify server.
// Talks to the benchmark over IPC: sends {port} when listening, answers 'rss', stops on 'stop'.
import Fastify from 'fastify';
import { registerAuthRoutes } from '../src/adapters/auth-routes';
import { openInstallation } from '../src/installation';

async function main(): Promise<void> {
  const [configDir, portText] = process.argv.slice(2);
  const installation = await openInstallation({ configDir, batchActivity: true });
  const app = Fastify({ logger: false });
  await registerAuthRoutes(app, installation);
  // The yardstick: the same framework answering an nginx-style OK without any work.
  app.get('/trivial', async (_request, reply) => {
    reply.header('Auth-Status', 'OK').header('Auth-Server', '127.0.0.1').header('Auth-Port', '143');
    return '';
  });
  await app.listen({ host: '127.0.0.1', port: Number(portText) });

  process.on('message', (message: unknown) => {
    if (message === 'rss') {
      process.send?.({ rss: process.memoryUsage().rss });
    } else if (message === 'stop') {
      void app
        .close()
        .then(() => installation.close())
        .finally(() => process.exit(0));
    }
  });
  process.send?.({ port: Number(portText) });
}

main().catch((error: Error) => {
  process.stderr.write(`bench service failed to start: ${error.message}\n`);
  process.exit(1);
});
