import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PasswdFileBackend } from './backends/passwd-file';
import type { PasswordBackend } from './backends/types';
import { ActivityWriter } from './core/activity';
import { silentLogger, type Logger, type TwoStepContext } from './core/context';
import { processFaultLog } from './core/fault-log';
import { isTwoStepError, TwoStepError } from './core/errors';
import { keys } from './core/model';
import { parseOptions, type IniConfig, type TwoStepOptions } from './core/options';
import { MailNotifier } from './notify/mailer';
import { parseNotifyOptions } from './notify/options';
import { loadSecretBox } from './store/encryption-key';
import { openStore, sqliteStorePath, storeKind } from './store';
import type { Store } from './store/types';

/** The package root, where the default config/ folder lives (dist/src/ is two levels down). */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..');

/** Returns the folder that `npm start` and the CLI use when no --config is given. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TWOSTEP_HOME ?? '.twostep');
}

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultHome(env), 'config');
}

interface HarakaConfigModule {
  module_config(defaultsRoot: string, overridesRoot?: string): {
    get(name: string, options?: object, callback?: () => void): unknown;
  };
}

/**
 * Reads twostep.ini the way Haraka does: the package's config/ contains the defaults and the
 * instance's config/ overrides them key by key.
 */
export function readIni(configDir: string, onChange?: () => void): IniConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const harakaConfig = require('haraka-config') as HarakaConfigModule;
  const config = harakaConfig.module_config(PACKAGE_ROOT, dirname(resolve(configDir)));
  return config.get('twostep.ini', { booleans: ['+audit.log_logins'] }, onChange) as IniConfig;
}

/** Every key of twostep.ini by section. `[nginx_domains]` takes any `DOMAIN.PROTOCOL` and is checked where it is read. */
const KNOWN_SETTINGS: Readonly<Record<string, readonly string[] | 'any'>> = {
  main: ['issuer', 'panel_url', 'data_dir', 'admins'],
  policy: ['global'],
  store: ['url'],
  backend: ['type', 'passwd_file', 'timeout'],
  totp: ['window', 'pending_device_ttl'],
  grants: ['idle_timeout', 'max_age', 'ipv4_prefix', 'ipv6_prefix'],
  throttle: ['lock_after', 'free_failures', 'max_delay', 'password_window'],
  audit: ['log_logins', 'batch_ms'],
  http: ['host', 'port', 'trust_proxy', 'cookie_secure', 'sign_in_rate_limit'],
  session: ['idle_timeout', 'max_age', 'reverify_window'],
  auth_endpoints: ['key'],
  nginx: ['imap_server', 'pop3_server', 'smtp_server', 'backend_password'],
  nginx_domains: 'any',
  notify: ['enabled', 'sender', 'smtp_host', 'smtp_port', 'timeout'],
};

/**
 * Returns the sections and keys of twostep.ini that TwoStep does not read, as `[section]` or
 * `[section] key`, so that a misspelt setting is reported instead of silently left at its default.
 */
export function unknownSettings(ini: IniConfig): string[] {
  const unknown: string[] = [];
  for (const [section, values] of Object.entries(ini)) {
    const known = KNOWN_SETTINGS[section];
    if (known === undefined) {
      unknown.push(`[${section}]`);
    } else if (known !== 'any' && values !== null && typeof values === 'object') {
      unknown.push(...Object.keys(values).filter((key) => !known.includes(key)).map((key) => `[${section}] ${key}`));
    }
  }
  return unknown;
}

/** Logs one warning that names the settings of twostep.ini that TwoStep does not read, if there are any. */
export function warnOfUnknownSettings(logger: Logger, ini: IniConfig): void {
  const unknown = unknownSettings(ini);
  if (unknown.length > 0) {
    logger.warn({ event: 'config', unknown_settings: unknown.join(', ') }, `twostep.ini has settings that TwoStep does not read, check their spelling: ${unknown.join(', ')}`);
  }
}

/** Settings that openInstallation reads once: a change takes effect when the process restarts. */
const OPEN_TIME_SETTINGS: readonly (readonly [string, string])[] = [
  ['main', 'data_dir'],
  ['store', 'url'],
  ['backend', 'type'],
  ['audit', 'batch_ms'],
];

/**
 * Returns the settings that differ between two readings of twostep.ini but are read only when
 * an installation opens (every `[notify]` key among them), as `[section] key`. Haraka and the
 * HTTP service open the installation again when one of these changes.
 */
export function settingsReadAtOpen(opened: IniConfig, current: IniConfig): string[] {
  const text = (ini: IniConfig, section: string, key: string) => String(ini[section]?.[key] ?? '');
  const settings = [...OPEN_TIME_SETTINGS];
  const notifyKeys = new Set([...Object.keys(opened.notify ?? {}), ...Object.keys(current.notify ?? {})]);
  for (const key of [...notifyKeys].sort()) {
    settings.push(['notify', key]);
  }
  return settings.filter(([section, key]) => text(opened, section, key) !== text(current, section, key)).map(([section, key]) => `[${section}] ${key}`);
}

/** Returns the file that `[backend] passwd_file` names: an absolute path, or one relative to the data folder. */
export function passwdFilePath(ini: IniConfig, dataDir: string): string {
  const file = String(ini.backend?.passwd_file ?? 'passwd');
  return isAbsolute(file) ? file : join(dataDir, file);
}

/**
 * Returns the installation with a re-read twostep.ini applied: its options, and a backend on
 * the new file when `[backend] passwd_file` names another one. The settings that
 * settingsReadAtOpen lists keep the values the installation opened with.
 * @throws TwoStepError ERR_INVALID_CONFIG when the file is invalid.
 */
export function applyIni(installation: Installation, ini: IniConfig): Installation {
  const options = checkIni(ini);
  let { backend, passwdFile } = installation;
  if (passwdFile && passwdFilePath(ini, installation.dataDir) !== passwdFile.path) {
    passwdFile = new PasswdFileBackend(passwdFilePath(ini, installation.dataDir));
    backend = passwdFile;
  }
  return { ...installation, ini, options, backend, passwdFile, context: { ...installation.context, options, backend } };
}

/** Returns the data folder: `[main] data_dir`, relative to the instance folder, or TWOSTEP_DATA_DIR. */
export function resolveDataDir(configDir: string, ini: IniConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (env.TWOSTEP_DATA_DIR) {
    return resolve(env.TWOSTEP_DATA_DIR);
  }
  const configured = String(ini.main?.data_dir ?? 'twostep-data');
  return isAbsolute(configured) ? configured : resolve(dirname(resolve(configDir)), configured);
}

export interface Installation {
  readonly configDir: string;
  readonly dataDir: string;
  readonly ini: IniConfig;
  readonly options: TwoStepOptions;
  readonly context: TwoStepContext;
  readonly backend: PasswordBackend;
  /** The passwd file, when the first factor is the passwd-file backend. */
  readonly passwdFile?: PasswdFileBackend;
  /** Sends the notification emails; undefined when `[notify] enabled = false`. */
  readonly notifier?: MailNotifier;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly configDir?: string;
  /** An already-read twostep.ini (the Haraka plugin passes the one Haraka read). */
  readonly ini?: IniConfig;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly store?: Store;
  readonly backend?: PasswordBackend;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Batch login activity (`[audit] batch_ms`): for processes that serve many logins (Haraka,
   * the HTTP service). One-shot commands write it at once.
   */
  readonly batchActivity?: boolean;
  /**
   * Opens only an installation that was set up before: its data folder, its SQLite file and the
   * store's encryption key id must exist. For a front end that opens again after a change of
   * twostep.ini, so that a mistyped path does not start an empty store where no account has
   * 2-Step Verification.
   */
  readonly existingOnly?: boolean;
  /**
   * The encryption key id the installation must have: a front end that opens again after a
   * change of twostep.ini passes the one in use, so that it never switches to another installation.
   */
  readonly keyId?: string;
}

function notSetUp(problem: string): TwoStepError {
  return new TwoStepError(
    'ERR_INVALID_CONFIG',
    `${problem}: a running front end only switches to an installation that was set up before; copy it there with "twostep migrate" first`,
  );
}

/** Checks that the data folder and a SQLite store's file exist, for `existingOnly`. */
function checkExisting(dataDir: string, storeUrl: string): void {
  if (!existsSync(dataDir)) {
    throw notSetUp(`the data folder ${dataDir} does not exist`);
  }
  if (storeKind(storeUrl) === 'sqlite' && !existsSync(sqliteStorePath(storeUrl, dataDir))) {
    throw notSetUp(`the store file ${sqliteStorePath(storeUrl, dataDir)} does not exist`);
  }
}

/**
 * Validates all of twostep.ini: the options, the notification settings, `[store] url` and
 * `[backend] type`, so that a front end can reject an invalid file when it starts or reloads
 * rather than at the first login.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the first invalid setting.
 */
export function checkIni(ini: IniConfig): TwoStepOptions {
  const options = parseOptions(ini);
  parseNotifyOptions(ini);
  storeKind(typeof ini.store?.url === 'string' ? ini.store.url : undefined);
  const type = String(ini.backend?.type ?? 'passwd-file');
  if (type !== 'passwd-file') {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [backend] type = ${type}: expected passwd-file`);
  }
  return options;
}

/**
 * Opens an installation: config, data folder, store, encryption key and password backend.
 * @throws TwoStepError ERR_INVALID_CONFIG or ERR_ENCRYPTION_KEY with what to fix; ERR_STORE_UNAVAILABLE when the store cannot be opened.
 */
export async function openInstallation(open: OpenOptions = {}): Promise<Installation> {
  const env = open.env ?? process.env;
  const configDir = resolve(open.configDir ?? defaultConfigDir(env));
  const ini = open.ini ?? readIni(configDir);
  const options = checkIni(ini);
  const notifyOptions = parseNotifyOptions(ini);
  const dataDir = resolveDataDir(configDir, ini, env);
  const storeUrl = typeof ini.store?.url === 'string' ? ini.store.url : '';
  if (open.existingOnly) {
    checkExisting(dataDir, storeUrl);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const now = open.now ?? Date.now;

  // A SQLite file that this call creates is removed again when the installation is refused.
  const sqliteFile = !open.store && storeKind(storeUrl) === 'sqlite' ? sqliteStorePath(storeUrl, dataDir) : undefined;
  const newSqliteFile = sqliteFile !== undefined && !existsSync(sqliteFile) ? sqliteFile : undefined;
  const store = open.store ?? openStore(storeUrl, dataDir, now);
  if (open.existingOnly && (await store.get(keys.encryptionKeyId).catch(() => undefined)) === undefined) {
    await store.close();
    throw notSetUp(`the store named by [store] url has no TwoStep data`);
  }
  let passwdFile: PasswdFileBackend | undefined;
  let backend = open.backend;
  if (!backend) {
    passwdFile = new PasswdFileBackend(passwdFilePath(ini, dataDir));
    backend = passwdFile;
  }

  let secrets;
  try {
    secrets = await loadSecretBox(dataDir, store, env);
    if (open.keyId !== undefined && secrets.keyId !== open.keyId) {
      throw new TwoStepError(
        'ERR_INVALID_CONFIG',
        `the installation in ${dataDir} has encryption key id ${secrets.keyId}, not ${open.keyId} of the one in use: ` +
          'a running front end only switches to the same installation in another place (copied with "twostep migrate"); restart to use another one',
      );
    }
  } catch (error) {
    await store.close();
    if (newSqliteFile && isTwoStepError(error, 'ERR_INVALID_CONFIG')) {
      for (const suffix of ['', '-wal', '-shm']) {
        rmSync(`${newSqliteFile}${suffix}`, { force: true });
      }
    }
    throw error;
  }
  const logger = open.logger ?? silentLogger;
  warnOfUnknownSettings(logger, ini);
  const notifier = notifyOptions.enabled ? new MailNotifier(notifyOptions, logger) : undefined;
  const activity =
    open.batchActivity && options.activityBatchMs > 0
      ? new ActivityWriter(store, options.activityBatchMs, (error, lost) =>
          processFaultLog.error(logger, (error as Error).message, { event: 'activity', lost_writes: lost }, 'login activity could not be recorded'),
        )
      : undefined;
  // Haraka ends with process.exit() on SIGINT; what waits is written on the way out.
  const writeActivityAtExit = () => activity?.flushAtExit();
  if (activity) {
    process.on('exit', writeActivityAtExit);
  }
  const context: TwoStepContext = {
    store,
    backend,
    secrets,
    options,
    now,
    logger,
    notify: notifier ? (event) => notifier.notify(context, event) : undefined,
    activity,
  };
  const usedBackend = backend;
  return {
    configDir,
    dataDir,
    ini,
    options,
    context,
    backend: usedBackend,
    passwdFile,
    notifier,
    async close() {
      // Emails still being sent read the branding from the store.
      await notifier?.close();
      process.off('exit', writeActivityAtExit);
      await activity?.flush();
      await store.close();
      await usedBackend.close();
    },
  };
}
