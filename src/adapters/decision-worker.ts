// The worker thread of DecisionThread (decision-thread.ts): opens the installation and decides
// logins, so the store, the password check and the code check run beside the mail server's
// event loop instead of on it. Messages are described in decision-thread.ts.
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger, LogFields } from '../core/context';
import { processFaultLog } from '../core/fault-log';
import { decideLogin, undecided, type LoginDecision, type LoginRequest } from '../core/login';
import type { IniConfig } from '../core/options';
import { applyIni, openInstallation, type Installation } from '../installation';
import type { LogLine, ToThread, FromThread, ThreadStart } from './decision-thread';

const port = parentPort!;
const start = workerData as ThreadStart;
const exitFlag = new Int32Array(start.exitFlag);

function send(message: FromThread): void {
  port.postMessage(message);
}

/** Lines outside a login go to the main thread at once, which logs them without a connection. */
const threadLogger: Logger = {
  info: (fields, message) => send({ type: 'log', line: ['info', fields, message] }),
  warn: (fields, message) => send({ type: 'log', line: ['warn', fields, message] }),
  error: (fields, message) => send({ type: 'log', line: ['error', fields, message] }),
};

/**
 * Collects the lines of one login, which travel back with its decision and are logged on that
 * connection. A line written after the reply (a failed notification) goes out on its own.
 */
function loginLogger(): { logger: Logger; take(): LogLine[] } {
  let lines: LogLine[] | undefined = [];
  const write = (level: LogLine[0]) => (fields: LogFields, message: string) => {
    if (lines) {
      lines.push([level, fields, message]);
    } else {
      threadLogger[level](fields, message);
    }
  };
  return {
    logger: { info: write('info'), warn: write('warn'), error: write('error') },
    take() {
      const collected = lines ?? [];
      lines = undefined;
      return collected;
    },
  };
}

let ini: IniConfig = start.ini;
/** Logins being decided; closing waits for them, so none loses its store halfway. */
const inFlight = new Set<Promise<void>>();
let opening: Promise<Installation> | undefined;
let applied: { opened: Installation; ini: IniConfig; installation: Installation } | undefined;

/** Opens the installation on first use; a failed open is tried again at the next login. */
function installation(): Promise<Installation> {
  if (!opening) {
    const { replacing } = start;
    opening = openInstallation({ configDir: start.configDir, ini, logger: threadLogger, batchActivity: true, existingOnly: replacing !== undefined, keyId: replacing?.keyId });
    opening.catch(() => {
      opening = undefined;
    });
  }
  return opening;
}

function current(opened: Installation): Installation {
  if (applied?.opened === opened && applied.ini === ini) {
    return applied.installation;
  }
  const installation = ini === opened.ini ? opened : applyIni(opened, ini);
  applied = { opened, ini, installation };
  return installation;
}

async function decide(id: number, request: LoginRequest): Promise<void> {
  const lines = loginLogger();
  let opened: Installation;
  try {
    opened = await installation();
  } catch (error) {
    const decision = undecided(lines.logger, processFaultLog, request, error, 'cannot open the TwoStep installation');
    send({ type: 'decided', id, decision, lines: lines.take() });
    return;
  }
  let decision: LoginDecision;
  try {
    decision = await decideLogin({ ...current(opened).context, logger: lines.logger }, request);
  } catch (error) {
    // decideLogin turns faults into temporary failures itself. This catches a fault around it,
    // because the main thread would otherwise wait for a reply that never comes.
    decision = undecided(lines.logger, processFaultLog, request, error, 'login could not be decided');
  }
  send({ type: 'decided', id, decision, lines: lines.take() });
}

/** Writes waiting login activity; resolves whether or not it landed (failures are logged by the writer). */
async function flushActivity(): Promise<void> {
  const opened = await opening?.catch(() => undefined);
  await opened?.context.activity?.flush();
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'decide': {
      const deciding = decide(message.id, message.request);
      inFlight.add(deciding);
      void deciding.finally(() => inFlight.delete(deciding));
      break;
    }
    case 'ini':
      ini = message.ini;
      break;
    case 'open':
      installation().then(
        (opened) => send({ type: 'opened', id: message.id, keyId: opened.context.secrets.keyId }),
        (error: Error) => send({ type: 'failed', id: message.id, message: error.message }),
      );
      break;
    case 'flush':
      void flushActivity().then(() => send({ type: 'done', id: message.id }));
      break;
    case 'flush-at-exit':
      // The main thread waits on the flag in its 'exit' handler, where it cannot take messages.
      void flushActivity().finally(() => {
        Atomics.store(exitFlag, 0, 1);
        Atomics.notify(exitFlag, 0);
      });
      break;
    case 'close':
      void (async () => {
        await Promise.allSettled(inFlight);
        const opened = await opening?.catch(() => undefined);
        await opened?.close();
        send({ type: 'done', id: message.id });
        port.close();
      })();
      break;
  }
});
