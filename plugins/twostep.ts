// Haraka plugin `twostep`: SMTP AUTH PLAIN and LOGIN through TwoStep's login decision.
// Haraka loads this file with require() as the package main, so it stays CommonJS and every
// hook is an enumerable export. All logic lives in src/core; this file only maps hooks.
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger, LogFields } from '../src/core/context';
import type { LoginDecision } from '../src/core/login';
import type { IniConfig } from '../src/core/options';
import { checkIni, settingsReadAtOpen, warnOfUnknownSettings } from '../src/installation';
import { DecisionThread } from '../src/adapters/decision-thread';
import { SMTP_REJECT, SMTP_TEMPORARY } from '../src/adapters/replies';

/** Haraka's OK return code (constants.ok): the hook handled the command. */
const OK_CODE = 906;

interface HarakaConnection {
  respond(code: number, message: string, callback: () => void): void;
  readonly uuid: string;
  readonly remote: { readonly ip: string };
  readonly tls: { readonly enabled: boolean };
  readonly capabilities: string[];
  readonly notes: Record<string, unknown>;
}

type HookNext = (code?: number, message?: string) => void;

interface HarakaPlugin {
  name: string;
  /** Seconds Haraka waits for a hook before it replies `500 plugin timeout` (twostep.timeout, default 30). */
  timeout?: number;
  base: Record<string, { hook_unrecognized_command?: (this: HarakaPlugin, next: HookNext, connection: HarakaConnection, params: string[]) => void }>;
  blankout_password: boolean;
  inherits(name: string): void;
  config: { get(name: string, options: object, callback?: () => void): unknown };
  loginfo(message: string, fields?: Record<string, string | number | boolean>, connection?: HarakaConnection): void;
  lognotice(message: string): void;
  logwarn(message: string, fields?: Record<string, string | number | boolean>, connection?: HarakaConnection): void;
  logerror(message: string, fields?: Record<string, string | number | boolean>, connection?: HarakaConnection): void;
  twostep_ini?: IniConfig;
  /** The thread that decides logins, and the twostep.ini it opened the installation with. */
  twostep_thread?: { readonly thread: DecisionThread; readonly ini: IniConfig };
  /** Marks the latest attempt to open the installation again after a change of twostep.ini. */
  twostep_reopening?: object;
  twostep_logger?: Logger;
}

interface Reply {
  readonly valid: boolean;
  readonly reply?: { code: number; message: string };
}

type PasswordCallback = (valid: boolean, reply?: { code: number; message: string }) => void;

const AUTH_METHODS = ['PLAIN', 'LOGIN'];

/**
 * Copies the fields that have a value. Haraka's logger reads an object with its own `name` or
 * `uuid` as the origin or connection id of the line, so those two keys get a `field_` prefix.
 */
function definedFields(fields: LogFields): Record<string, string | number | boolean> {
  const defined: Record<string, string | number | boolean> = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) {
      defined[key === 'name' || key === 'uuid' ? `field_${key}` : key] = value;
    }
  }
  return defined;
}

/**
 * Hands the fields to Haraka's logger as an object. Haraka formats them (key=value, or merged
 * into the record with its JSON log format) only when the line passes its log level, so a
 * server that logs at NOTICE or WARN does not format the INFO line of each login.
 */
function harakaLogger(plugin: HarakaPlugin, connection?: HarakaConnection): Logger {
  // Haraka appends every argument that is not an object to the message, so a line outside a
  // connection passes no third argument at all: an undefined one would end it with "undefined".
  const extra = connection ? [connection] : [];
  return {
    info: (fields, message) => plugin.loginfo(message, definedFields(fields), ...extra),
    warn: (fields, message) => plugin.logwarn(message, definedFields(fields), ...extra),
    error: (fields, message) => plugin.logerror(message, definedFields(fields), ...extra),
  };
}

/**
 * Reads twostep.ini and validates it into options once per change, not once per login. An
 * invalid edit is logged and the previous settings stay in force.
 */
function loadIni(plugin: HarakaPlugin): void {
  const ini = plugin.config.get('twostep.ini', { booleans: ['+audit.log_logins'] }, () => {
    try {
      const previous = plugin.twostep_ini;
      loadIni(plugin);
      if (JSON.stringify(plugin.twostep_ini) === JSON.stringify(previous)) {
        // haraka-config can report one change of the file more than once.
        return;
      }
      plugin.loginfo('twostep.ini changed: settings reloaded');
      warnOfUnknownSettings(plugin.twostep_logger ?? harakaLogger(plugin), plugin.twostep_ini!);
      applyToThread(plugin);
    } catch (error) {
      plugin.logerror(`twostep.ini changed but is invalid, keeping the previous settings: ${(error as Error).message}`);
    }
  }) as IniConfig;
  // Throws for an invalid file, which then never replaces the last valid one.
  checkIni(ini);
  plugin.twostep_ini = ini;
}

/**
 * Hands a re-read twostep.ini to the decision thread. The settings that are read when the
 * installation opens (store, data folder, backend type, activity batching, notifications) need a
 * new one: a thread is started with them, and it replaces the running one only once its
 * installation has opened. Until then, and when it cannot open, logins go on with the old one.
 */
function applyToThread(plugin: HarakaPlugin): void {
  const started = plugin.twostep_thread;
  const ini = plugin.twostep_ini!;
  if (!started) {
    return;
  }
  // The other settings apply at once: the thread keeps the open-time values it opened with.
  started.thread.applyIni(ini);
  const changed = settingsReadAtOpen(started.ini, ini);
  if (changed.length === 0) {
    // Back to the values in force: a new thread still opening is dropped when it is done.
    plugin.twostep_reopening = undefined;
    return;
  }
  void replaceThread(plugin, started, ini, changed.join(', '));
}

/** Starts a decision thread with `ini` and lets it take over once its installation has opened. */
async function replaceThread(plugin: HarakaPlugin, started: NonNullable<HarakaPlugin['twostep_thread']>, ini: IniConfig, settings: string): Promise<void> {
  plugin.lognotice(`twostep.ini has new values for ${settings}: opening the installation again with them`);
  const attempt = {};
  plugin.twostep_reopening = attempt;
  // A later change or a shutdown makes this attempt stale.
  const stale = () => plugin.twostep_reopening !== attempt || plugin.twostep_thread !== started;
  let next: DecisionThread | undefined;
  try {
    // Only the installation in use, in another place: the same encryption key id.
    const keyId = await started.thread.open();
    next = new DecisionThread(instanceConfigDir(), ini, plugin.twostep_logger ?? harakaLogger(plugin), { keyId });
    await next.open();
  } catch (error) {
    void next?.close();
    if (!stale()) {
      plugin.twostep_reopening = undefined;
      plugin.logerror(`twostep.ini has new values for ${settings}, but the installation cannot open with them, keeping the previous settings: ${(error as Error).message}`);
    }
    return;
  }
  if (stale()) {
    void next.close();
    return;
  }
  plugin.twostep_reopening = undefined;
  plugin.twostep_thread = { thread: next, ini };
  void started.thread.close();
  plugin.lognotice(`twostep.ini has new values for ${settings}: the installation was opened again with them`);
}

/** Returns the instance's config folder: under HARAKA (set by `haraka -c DIR`), else under the working folder. */
function instanceConfigDir(): string {
  const instance = process.env.HARAKA ?? process.cwd();
  return join(isAbsolute(instance) ? instance : resolve(instance), 'config');
}

/** Maximum time a SIGTERM waits for login activity to be written before the process ends. */
const SIGTERM_WRITE_MS = 2000;

/**
 * Writes waiting login activity when the process gets SIGTERM, then ends it with that signal.
 * Haraka stops on SIGINT through process.exit(), where the thread writes it, but leaves
 * SIGTERM (systemd's stop signal) to Node's default, which ends the process at once. When
 * Haraka runs as PID 1 it handles SIGTERM itself, through process.exit(), so nothing is added.
 */
function writeActivityOnSigterm(plugin: HarakaPlugin): void {
  if (process.listenerCount('SIGTERM') > 0) {
    return;
  }
  process.once('SIGTERM', () => {
    // With the listener gone, the same signal ends the process as it would have before.
    const end = () => process.kill(process.pid, 'SIGTERM');
    const timer = setTimeout(end, SIGTERM_WRITE_MS);
    void (plugin.twostep_thread?.thread.flush() ?? Promise.resolve()).finally(() => {
      clearTimeout(timer);
      end();
    });
  });
}

/**
 * Starts the decision thread on the first login in each worker process, so the master process
 * never opens the SQLite file. A thread that ended is started again at the next login.
 */
function decisionThread(plugin: HarakaPlugin): DecisionThread {
  const started = plugin.twostep_thread;
  if (started && !started.thread.ended) {
    return started.thread;
  }
  const ini = plugin.twostep_ini!;
  const thread = new DecisionThread(instanceConfigDir(), ini, plugin.twostep_logger ?? harakaLogger(plugin));
  if (!started) {
    writeActivityOnSigterm(plugin);
  }
  plugin.twostep_thread = { thread, ini };
  return thread;
}

export function register(this: HarakaPlugin): void {
  this.inherits('auth/auth_base');
  // Without this, auth_base keeps the submitted password, code included, in connection.notes.auth_passwd.
  this.blankout_password = true;
  this.twostep_logger = harakaLogger(this);
  try {
    loadIni(this);
  } catch (error) {
    // Haraka stops with the stack of an exception from register(); the message names the setting.
    if (error instanceof Error) {
      error.stack = `${error.name}: ${error.message}`;
    }
    throw error;
  }
}

/** Offers AUTH PLAIN and LOGIN only inside TLS. CRAM-MD5 is never offered: it cannot carry a code. */
export function hook_capabilities(this: HarakaPlugin, next: () => void, connection: HarakaConnection): void {
  if (!connection.tls.enabled) {
    next();
    return;
  }
  connection.capabilities.push(`AUTH ${AUTH_METHODS.join(' ')}`);
  connection.notes.allowed_auth_methods = [...AUTH_METHODS];
  next();
}

/**
 * Passes SMTP lines to auth_base, but blanks an AUTH continuation line (the base64 user name
 * or password, code included) before the hook returns. Haraka 3.3 logs `params[0]` of every
 * hook that returns OK, so the password would otherwise reach the log at level INFO.
 */
export function hook_unrecognized_command(this: HarakaPlugin, next: HookNext, connection: HarakaConnection, params: string[]): void {
  if (String(params[0] ?? '').toUpperCase() === 'AUTH' && !connection.tls.enabled) {
    // RFC 3207 §4: a client that tries AUTH before STARTTLS learns what to do instead of
    // getting "500 Unrecognized command".
    connection.respond(530, '5.7.0 Must issue a STARTTLS command first', () => next(OK_CODE));
    return;
  }
  const continuation = connection.notes.authenticating === true;
  const base = this.base['auth/auth_base'];
  const redactingNext: HookNext = (code, message) => {
    if (continuation) {
      params.fill('[redacted]');
    }
    next(code, message);
  };
  if (!base?.hook_unrecognized_command) {
    next();
    return;
  }
  base.hook_unrecognized_command.call(this, redactingNext, connection, params);
}

/**
 * Returns the maximum delay TwoStep adds before a rejection, in milliseconds. auth_base adds its own
 * 1 s, 2 s, 4 s… per failure in a connection, and Haraka replies `500 plugin timeout` when a
 * hook takes longer than the plugin timeout, so both delays together stay 2 s below it.
 */
function maxReplyDelayMs(plugin: HarakaPlugin, connection: HarakaConnection): number {
  const timeoutSeconds = plugin.timeout && plugin.timeout > 0 ? plugin.timeout : 30;
  const failures = typeof connection.notes.auth_fails === 'number' ? connection.notes.auth_fails : 0;
  const authBaseDelaySeconds = Math.min(2 ** failures, timeoutSeconds - 1);
  return Math.max(0, (timeoutSeconds - 2 - authBaseDelaySeconds) * 1000);
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, milliseconds));
}

function decide(plugin: HarakaPlugin, connection: HarakaConnection, user: string, secret: string): Promise<LoginDecision> {
  // The connection's logger puts Haraka's connection id on each line of this login.
  return decisionThread(plugin).decide({ account: user, secret, protocol: 'smtp', ip: connection.remote.ip }, harakaLogger(plugin, connection));
}

/**
 * Called by auth_base for AUTH PLAIN and LOGIN. Every fault, including one thrown while
 * opening the store, gets the temporary-failure reply: Haraka would treat an uncaught
 * exception as "continue", and that must never let a login through.
 */
export function check_plain_passwd(this: HarakaPlugin, connection: HarakaConnection, user: string, secret: string, callback: PasswordCallback): void {
  decide(this, connection, user, secret)
    .then(async (decision): Promise<Reply> => {
      if (decision.outcome === 'accepted') {
        return { valid: true };
      }
      if (decision.outcome === 'temporary-failure') {
        return { valid: false, reply: { ...SMTP_TEMPORARY } };
      }
      const waitMs = Math.min(decision.delayMs, maxReplyDelayMs(this, connection));
      if (waitMs > 0) {
        await delay(waitMs);
      }
      return { valid: false, reply: { ...SMTP_REJECT } };
    })
    .catch((error: Error): Reply => {
      this.logerror(`login could not be decided: ${error.message}`);
      return { valid: false, reply: { ...SMTP_TEMPORARY } };
    })
    .then((result) => callback(result.valid, result.reply));
}

/** Rejects CRAM-MD5, which is never offered, when auth_base passes a client that tries it anyway. */
export function check_cram_md5_passwd(this: HarakaPlugin, _connection: HarakaConnection, _user: string, _secret: string, callback: PasswordCallback): void {
  callback(false, { ...SMTP_REJECT });
}

export function shutdown(this: HarakaPlugin): void {
  const started = this.twostep_thread;
  this.twostep_thread = undefined;
  this.twostep_reopening = undefined;
  started?.thread.close().catch(() => undefined);
}
export { createSmtpAuthHandler } from '../src/adapters/smtp-server';
