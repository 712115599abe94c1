import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LogFields, Logger } from '../core/context';
import type { LoginDecision, LoginRequest } from '../core/login';
import type { IniConfig } from '../core/options';

/** One log line of the worker thread: level, fields and message. */
export type LogLine = readonly ['info' | 'warn' | 'error', LogFields, string];

export interface ThreadStart {
  readonly configDir: string;
  readonly ini: IniConfig;
  /** One Int32 the worker sets when the writes asked for at exit are done. */
  readonly exitFlag: SharedArrayBuffer;
  /** Set for a thread that replaces another: opens only that installation (see OpenOptions.existingOnly and keyId). */
  readonly replacing?: { readonly keyId: string };
}

export type ToThread =
  | { readonly type: 'decide'; readonly id: number; readonly request: LoginRequest }
  | { readonly type: 'ini'; readonly ini: IniConfig }
  | { readonly type: 'open'; readonly id: number }
  | { readonly type: 'flush'; readonly id: number }
  | { readonly type: 'flush-at-exit' }
  | { readonly type: 'close'; readonly id: number };

export type FromThread =
  | { readonly type: 'decided'; readonly id: number; readonly decision: LoginDecision; readonly lines: readonly LogLine[] }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'opened'; readonly id: number; readonly keyId: string }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'log'; readonly line: LogLine };

/** Maximum wait in a process 'exit' handler for the worker to write waiting login activity. */
const EXIT_WRITE_MS = 2000;

interface Pending {
  readonly resolve: (message: FromThread | { readonly type: 'ended' }) => void;
  readonly logger?: Logger;
}

/**
 * Decides logins on a worker thread with its own installation. Haraka runs TLS handshakes and
 * every plugin on one event loop. The decision (store queries, password and code checks) then
 * runs on another core when one is free, and the loop only passes messages.
 */
export class DecisionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly exitFlag = new SharedArrayBuffer(4);
  private nextId = 1;
  private exited = false;
  private readonly writeAtExit = () => this.flushAtExit();

  /** @param replacing the encryption key id of the installation in use, for a thread that replaces another. */
  constructor(configDir: string, ini: IniConfig, private readonly logger: Logger, replacing?: { readonly keyId: string }) {
    const start: ThreadStart = { configDir, ini, exitFlag: this.exitFlag, replacing };
    this.worker = new Worker(join(__dirname, 'decision-worker.js'), { workerData: start });
    this.worker.unref();
    this.worker.on('message', (message: FromThread) => this.receive(message));
    this.worker.on('error', (error) => {
      const message = 'the login decision thread failed: waiting logins get a temporary failure, and the next login starts a new thread';
      this.logger.error({ event: 'decision-thread', cause: error.message }, message);
    });
    this.worker.on('exit', () => this.fail());
    process.on('exit', this.writeAtExit);
  }

  /** Decides one login; the lines it logs go to `logger`. A thread that has ended gives a temporary failure. */
  decide(request: LoginRequest, logger: Logger): Promise<LoginDecision> {
    if (this.exited) {
      return Promise.resolve({ outcome: 'temporary-failure', reason: 'ERR_INTERNAL' });
    }
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, {
        logger,
        resolve: (message) => resolve(message.type === 'decided' ? message.decision : { outcome: 'temporary-failure', reason: 'ERR_INTERNAL' }),
      });
      this.worker.postMessage({ type: 'decide', id, request } satisfies ToThread);
    });
  }

  /** Hands a re-read twostep.ini to the thread. */
  applyIni(ini: IniConfig): void {
    if (!this.exited) {
      this.worker.postMessage({ type: 'ini', ini } satisfies ToThread);
    }
  }

  /**
   * Opens the installation now instead of at the first login, and returns its encryption key id.
   * @throws Error with the reason when it cannot be opened, or when the thread ended.
   */
  async open(): Promise<string> {
    const reply = await this.request('open');
    if (reply.type === 'failed') {
      throw new Error(reply.message);
    }
    if (reply.type !== 'opened') {
      throw new Error('the decision thread ended');
    }
    return reply.keyId;
  }

  /** Writes the login activity that waits in the thread. */
  async flush(): Promise<void> {
    await this.request('flush');
  }

  /** Writes what waits, closes the store and ends the thread. */
  async close(): Promise<void> {
    process.off('exit', this.writeAtExit);
    await this.request('close');
    await this.worker.terminate();
    this.fail();
  }

  /** Whether the thread has ended, by close() or by a crash. */
  get ended(): boolean {
    return this.exited;
  }

  /** Sends a request without a login and resolves with the thread's reply, or `ended` when the thread has ended. */
  private request(type: 'open' | 'flush' | 'close'): Promise<FromThread | { readonly type: 'ended' }> {
    if (this.exited) {
      return Promise.resolve({ type: 'ended' });
    }
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve });
      this.worker.postMessage({ type, id } satisfies ToThread);
    });
  }

  private receive(message: FromThread): void {
    if (message.type === 'log') {
      log(this.logger, message.line);
      return;
    }
    const pending = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.type === 'decided' && pending?.logger) {
      for (const line of message.lines) {
        log(pending.logger, line);
      }
    }
    pending?.resolve(message);
  }

  /** Marks the thread as ended and gives every waiting login a temporary failure. */
  private fail(): void {
    this.exited = true;
    process.off('exit', this.writeAtExit);
    for (const pending of this.pending.values()) {
      pending.resolve({ type: 'ended' });
    }
    this.pending.clear();
  }

  /**
   * Tells the thread to write what waits and blocks until it is done, at most EXIT_WRITE_MS. For
   * the process 'exit' handler: Haraka stops on SIGINT with process.exit().
   */
  private flushAtExit(): void {
    if (this.exited) {
      return;
    }
    const flag = new Int32Array(this.exitFlag);
    this.worker.postMessage({ type: 'flush-at-exit' } satisfies ToThread);
    Atomics.wait(flag, 0, 0, EXIT_WRITE_MS);
  }
}

function log(logger: Logger, [level, fields, message]: LogLine): void {
  logger[level](fields, message);
}
