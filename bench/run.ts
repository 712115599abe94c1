// `npm run bench`: SMTP AUTH logins through Haraka with the twostep plugin against Haraka's
// own auth/flat_file, and /auth/nginx decisions against a trivial responder, with a small
// SQLite store and with 100,000 enrolled accounts in SQLite and in Redis. Writes
// bench/README.md and raw JSON under bench/results/. See bench/README.md for how to read it.
import { loadAuthKey } from '../src/adapters/auth-key';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateCode } from '../src/core/totp';
import { openInstallation, PACKAGE_ROOT } from '../src/installation';
import { ENCRYPTION_KEY_ENV } from '../src/store/encryption-key';
import { freePort } from '../test/helpers/ports';
import { REDIS_SERVER, startRedis, type RedisServer } from '../test/helpers/redis';
import { NginxAuthClient } from './http-client';
import { mergeLoads, runLoad, runPaced, type LoadResult, type MeasuredLoad } from './load';
import { profilePasswordAndCode, type ProfileResult } from './profile';
import { describeMachine, writeReadme, type MachineDescription } from './report';
import { seedAccounts, writeFlatFileConfig, type BenchAccount } from './seed';
import { prepareFlatFileHaraka, prepareTwoStepHaraka, processTreeCpuMs, processTreeRss, startHaraka, startService, type Started } from './servers';
import { smtpAuthPlain } from './smtp-client';

export interface BenchOptions {
  /** Enrolled accounts in the large stores. */
  readonly accounts: number;
  /** Enrolled accounts in the small SQLite store. */
  readonly smallAccounts: number;
  /** Accounts whose app passwords are used, round robin. */
  readonly appAccounts: number;
  /** Accounts that get a login grant first; grant logins reuse them round robin. */
  readonly grantAccounts: number;
  /** SMTP logins per scenario. */
  readonly logins: number;
  /** Untimed SMTP logins per scenario and side before the timed ones, so both servers are warm. */
  readonly warmupLogins: number;
  /** /auth/nginx requests per scenario; password+code uses `codeRequests` fresh accounts. */
  readonly requests: number;
  readonly codeRequests: number;
  /** /auth/nginx requests per kind at a fixed rate, for the latency of a server that is not saturated. */
  readonly pacedRequests: number;
  /** Requests per second of the paced runs. */
  readonly pacedRate: number;
  readonly smtpConcurrency: number;
  readonly httpConcurrency: number;
  readonly profileLogins: number;
  /** Include the Redis store (needs /usr/bin/redis-server). */
  readonly redis: boolean;
  /** Folder for the raw JSON results. */
  readonly resultsDir: string;
  /** Path of the results page; undefined writes none. */
  readonly readmePath?: string;
  readonly log?: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  accounts: 100_000,
  smallAccounts: 4_000,
  appAccounts: 500,
  grantAccounts: 50,
  logins: 1_500,
  warmupLogins: 300,
  requests: 4_000,
  codeRequests: 600,
  pacedRequests: 2_000,
  pacedRate: 500,
  smtpConcurrency: 8,
  httpConcurrency: 4,
  profileLogins: 200,
  redis: true,
  resultsDir: resolve(PACKAGE_ROOT, 'bench', 'results'),
  readmePath: resolve(PACKAGE_ROOT, 'bench', 'README.md'),
};

export interface SmtpComparison {
  readonly baseline: LoadResult;
  readonly twostep: LoadResult;
  /** twostep logins per second divided by the baseline's. */
  readonly ratio: number;
  /**
   * CPU time each Haraka used per timed login, in milliseconds, from /proc (undefined elsewhere).
   * It varies less than logins per second, which also move with the client's share of the cores.
   */
  readonly cpuMsPerLogin?: { readonly baseline: number; readonly twostep: number };
  /**
   * The part of it on each Haraka's main thread, its event loop, which runs the TLS handshakes
   * and every plugin; TwoStep decides on a worker thread of its own.
   */
  readonly loopCpuMsPerLogin?: { readonly baseline: number; readonly twostep: number };
}

/** A running Haraka the benchmark logs in to. */
interface SmtpServer {
  readonly port: number;
  readonly pid: number;
}

export interface NginxResults {
  readonly available: boolean;
  /** The reason the TwoStep endpoint was not measured. */
  readonly reason?: string;
  readonly trivial: LoadResult;
  readonly appPassword?: LoadResult;
  readonly passwordAndCode?: LoadResult;
  readonly grant?: LoadResult;
  /** The same requests at `pacedRate` per second (password+code is left out: it needs a fresh account each). */
  readonly paced?: { readonly trivial: LoadResult; readonly appPassword?: LoadResult; readonly grant?: LoadResult };
}

export interface StoreRun {
  readonly name: string;
  readonly store: 'sqlite' | 'redis';
  readonly accounts: number;
  readonly seedSeconds: number;
  readonly smtp: Record<'appPassword' | 'passwordAndCode' | 'grant', SmtpComparison>;
  readonly nginx: NginxResults;
  readonly rss: { service: number; haraka: number; harakaBaseline: number; redis?: number };
  readonly profile: ProfileResult;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly machine: MachineDescription;
  readonly options: Omit<BenchOptions, 'log' | 'resultsDir' | 'readmePath'>;
  readonly runs: StoreRun[];
  readonly skipped: string[];
}

const SMTP_ACCEPTED = 235;
const SMTP_ROUND = 100;

/** Hands out consecutive seeded accounts, so every password+code login uses an account whose code was never used. */
class AccountPool {
  private next = 0;
  constructor(private readonly accounts: readonly BenchAccount[]) {}
  take(count: number, purpose: string): BenchAccount[] {
    if (this.next + count > this.accounts.length) {
      throw new Error(`invalid bench options: not enough seeded accounts for ${purpose} (${this.accounts.length} kept)`);
    }
    const taken = this.accounts.slice(this.next, this.next + count);
    this.next += count;
    return taken;
  }
}

function accountsNeeded(options: BenchOptions): number {
  return options.appAccounts + options.logins + 2 * options.grantAccounts + options.codeRequests + options.profileLogins + 2 * options.warmupLogins;
}

async function currentCredential(entry: BenchAccount): Promise<string> {
  return `${entry.password}${await generateCode(entry.secretKey, Math.floor(Date.now() / 1000))}`;
}

/** Resolves true for an accepted login; throws with the reply code otherwise, so the report shows why. */
async function expectAccepted(reply: Promise<number>): Promise<boolean> {
  const code = await reply;
  if (code !== SMTP_ACCEPTED) {
    throw new Error(`AUTH failed: SMTP reply ${code}, expected ${SMTP_ACCEPTED}`);
  }
  return true;
}

/** CPU time a Haraka spent in timed rounds: in all its threads, and on its event loop alone. */
interface RoundCpu {
  ms?: number;
  loopMs?: number;
}

function addCpu(total: number | undefined, before: number | undefined, after: number | undefined): number | undefined {
  return total === undefined || before === undefined || after === undefined ? undefined : total + after - before;
}

/** Runs one timed round against `server` and adds the CPU time the server spent to `cpu`. */
async function measuredRound(server: SmtpServer, cpu: RoundCpu, run: () => Promise<MeasuredLoad>): Promise<MeasuredLoad> {
  // The loop is read inside the whole process's interval, so its share comes out no larger, up
  // to a tick: Linux rounds the CPU time of a thread and of a process separately.
  const before = processTreeCpuMs(server.pid);
  const loopBefore = processTreeCpuMs(server.pid, true);
  const load = await run();
  const loopAfter = processTreeCpuMs(server.pid, true);
  cpu.ms = addCpu(cpu.ms, before, processTreeCpuMs(server.pid));
  cpu.loopMs = addCpu(cpu.loopMs, loopBefore, loopAfter);
  return load;
}

/** Divides both sides' CPU time by the logins, or gives undefined when /proc did not have it. */
function perLogin(baseline: number | undefined, twostep: number | undefined, logins: number): { baseline: number; twostep: number } | undefined {
  return baseline === undefined || twostep === undefined ? undefined : { baseline: baseline / logins, twostep: twostep / logins };
}

async function compareSmtp(
  ours: SmtpServer,
  baselineServer: SmtpServer,
  options: BenchOptions,
  accounts: readonly BenchAccount[],
  secretOf: (entry: BenchAccount) => Promise<string>,
): Promise<SmtpComparison> {
  const pick = (index: number) => accounts[index % accounts.length];
  // Alternate short rounds of each side, so a change in the machine's other load hits both alike.
  const baselineRounds: MeasuredLoad[] = [];
  const twostepRounds: MeasuredLoad[] = [];
  const baselineCpu: RoundCpu = { ms: 0, loopMs: 0 };
  const twostepCpu: RoundCpu = { ms: 0, loopMs: 0 };
  for (let first = 0; first < options.logins; first += SMTP_ROUND) {
    const count = Math.min(SMTP_ROUND, options.logins - first);
    baselineRounds.push(
      await measuredRound(baselineServer, baselineCpu, () =>
        runLoad(count, options.smtpConcurrency, (index) => expectAccepted(smtpAuthPlain(baselineServer.port, pick(index).account, pick(index).password)), first),
      ),
    );
    // A mail client sends a stored string: the code is typed or computed before the round, not timed.
    const secrets = await Promise.all(Array.from({ length: count }, (_, offset) => secretOf(pick(first + offset))));
    twostepRounds.push(
      await measuredRound(ours, twostepCpu, () =>
        runLoad(count, options.smtpConcurrency, (index) => expectAccepted(smtpAuthPlain(ours.port, pick(index).account, secrets[index - first])), first),
      ),
    );
  }
  const baseline = mergeLoads(baselineRounds);
  const twostep = mergeLoads(twostepRounds);
  const cpuMsPerLogin = perLogin(baselineCpu.ms, twostepCpu.ms, options.logins);
  const loopCpuMsPerLogin = perLogin(baselineCpu.loopMs, twostepCpu.loopMs, options.logins);
  return { baseline, twostep, ratio: twostep.perSecond / baseline.perSecond, ...(cpuMsPerLogin ? { cpuMsPerLogin } : {}), ...(loopCpuMsPerLogin ? { loopCpuMsPerLogin } : {}) };
}

/**
 * Untimed logins of one kind on both sides first: a fresh Node process runs its first few
 * hundred logins through unoptimised code, and the timed rounds should measure servers that
 * have been running, as a mail server has.
 */
async function warmUp(ours: SmtpServer, baseline: SmtpServer, options: BenchOptions, accounts: readonly BenchAccount[], secretOf: (entry: BenchAccount) => Promise<string>): Promise<void> {
  const secrets = await Promise.all(accounts.map(secretOf));
  await runLoad(accounts.length, options.smtpConcurrency, (index) => expectAccepted(smtpAuthPlain(baseline.port, accounts[index].account, accounts[index].password)));
  await runLoad(accounts.length, options.smtpConcurrency, (index) => expectAccepted(smtpAuthPlain(ours.port, accounts[index].account, secrets[index])));
}

async function runSmtp(ours: SmtpServer, baseline: SmtpServer, options: BenchOptions, pool: AccountPool, appAccounts: readonly BenchAccount[]): Promise<StoreRun['smtp']> {
  // Warm-up accounts are not reused: the timed app-password logins stay first uses, and every
  // timed code login uses an account whose code was never used.
  await warmUp(ours, baseline, options, pool.take(options.warmupLogins, 'SMTP app-password warm-up'), async (entry) => entry.appPassword);
  const appPassword = await compareSmtp(ours, baseline, options, appAccounts, async (entry) => entry.appPassword);

  // One fresh account per login: a code's time step can be claimed once per device.
  await warmUp(ours, baseline, options, pool.take(options.warmupLogins, 'SMTP password+code warm-up'), currentCredential);
  const codeAccounts = pool.take(options.logins, 'SMTP password+code');
  const passwordAndCode = await compareSmtp(ours, baseline, options, codeAccounts, currentCredential);

  const grantAccounts = pool.take(options.grantAccounts, 'SMTP grants');
  const credentials = new Map<string, string>();
  for (const entry of grantAccounts) {
    const credential = await currentCredential(entry);
    const code = await smtpAuthPlain(ours.port, entry.account, credential);
    if (code !== SMTP_ACCEPTED) {
      throw new Error(`SMTP grant set-up login for ${entry.account} failed: SMTP reply ${code}, expected ${SMTP_ACCEPTED}`);
    }
    credentials.set(entry.account, credential);
  }
  const grant = await compareSmtp(ours, baseline, options, grantAccounts, async (entry) => credentials.get(entry.account)!);
  return { appPassword, passwordAndCode, grant };
}

async function runNginx(port: number, authKey: string, options: BenchOptions, pool: AccountPool, appAccounts: readonly BenchAccount[]): Promise<NginxResults> {
  const client = new NginxAuthClient(port, options.httpConcurrency, authKey);
  try {
    const trivial = await runLoad(options.requests, options.httpConcurrency, async () => (await client.ask('/trivial', 'x', 'y')).authStatus === 'OK');
    const codeAccounts = pool.take(options.codeRequests, 'nginx password+code');
    const grantAccounts = pool.take(options.grantAccounts, 'nginx grants');

    // The endpoint is written separately, so measure it only when its reply is what nginx expects.
    const probe = await client.ask('/auth/nginx', appAccounts[0].account, appAccounts[0].appPassword);
    if (probe.status === 404) {
      return { available: false, reason: 'endpoint not available: /auth/nginx answered 404 (registerAuthRoutes registers no route yet)', trivial };
    }
    if (probe.authStatus !== 'OK') {
      return { available: false, reason: `endpoint answered HTTP ${probe.status} with Auth-Status "${probe.authStatus ?? ''}" to a valid app password`, trivial };
    }

    const pick = <T>(list: readonly T[], index: number) => list[index % list.length];
    const accepted = async (entry: BenchAccount, secret: string) => (await client.ask('/auth/nginx', entry.account, secret)).authStatus === 'OK';
    const appPassword = await runLoad(options.requests, options.httpConcurrency, (index) => accepted(pick(appAccounts, index), pick(appAccounts, index).appPassword));
    const passwordAndCode = await runLoad(options.codeRequests, options.httpConcurrency, async (index) => accepted(codeAccounts[index], await currentCredential(codeAccounts[index])));

    const credentials = new Map<string, string>();
    for (const entry of grantAccounts) {
      const credential = await currentCredential(entry);
      if (!(await accepted(entry, credential))) {
        throw new Error(`nginx grant set-up login for ${entry.account} was not accepted`);
      }
      credentials.set(entry.account, credential);
    }
    const grant = await runLoad(options.requests, options.httpConcurrency, (index) => accepted(pick(grantAccounts, index), credentials.get(pick(grantAccounts, index).account)!));

    const intervalMs = 1000 / options.pacedRate;
    const paced = {
      trivial: await runPaced(options.pacedRequests, intervalMs, async () => (await client.ask('/trivial', 'x', 'y')).authStatus === 'OK'),
      appPassword: await runPaced(options.pacedRequests, intervalMs, (index) => accepted(pick(appAccounts, index), pick(appAccounts, index).appPassword)),
      grant: await runPaced(options.pacedRequests, intervalMs, (index) => accepted(pick(grantAccounts, index), credentials.get(pick(grantAccounts, index).account)!)),
    };
    return { available: true, trivial, appPassword, passwordAndCode, grant, paced };
  } finally {
    client.close();
  }
}

async function runStore(name: string, store: 'sqlite' | 'redis', accountCount: number, options: BenchOptions, redis?: RedisServer): Promise<StoreRun> {
  const log = options.log ?? (() => undefined);
  const home = mkdtempSync(join(tmpdir(), 'twostep-bench-'));
  const started: Started[] = [];
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, [ENCRYPTION_KEY_ENV]: randomBytes(32).toString('base64'), TWOSTEP_DATA_DIR: join(home, 'data') };
    const passwdPath = join(home, 'data', 'passwd');
    const storeUrl = store === 'redis' ? redis!.url(`bench${Date.now()}`) : '';
    const extraIni = ['[store]', `url = ${storeUrl}`, '[backend]', `passwd_file = ${passwdPath}`, '[nginx]', 'imap_server = 127.0.0.1:1143'].join('\n');
    const [oursPort, baselinePort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const oursHome = join(home, 'twostep');
    await prepareTwoStepHaraka(oursHome, oursPort, httpPort, extraIni);
    const configDir = join(oursHome, 'config');

    log(`${name}: seeding ${accountCount} enrolled accounts`);
    const installation = await openInstallation({ configDir, env });
    started.push({ pid: process.pid, stop: () => installation.close() });
    const seedStart = Date.now();
    const kept = await seedAccounts(installation.context.store, installation.context.secrets, accountCount, accountsNeeded(options), passwdPath);
    const flatFile = join(home, 'auth_flat_file.ini');
    await writeFlatFileConfig(flatFile, accountCount);
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const pool = new AccountPool(kept);

    const baselineHome = join(home, 'flat-file');
    await prepareFlatFileHaraka(baselineHome, baselinePort, configDir, flatFile);
    log(`${name}: starting Haraka (twostep and flat_file) and the HTTP service`);
    const [ours, baseline, service] = await Promise.all([startHaraka(oursHome, oursPort, env), startHaraka(baselineHome, baselinePort, env), startService(configDir, httpPort, env)]);
    started.push(ours, baseline, service);

    log(`${name}: SMTP logins`);
    // App passwords are not used up, so both front doors share one set of accounts.
    const appAccounts = pool.take(options.appAccounts, 'app passwords');
    const smtp = await runSmtp({ port: oursPort, pid: ours.pid }, { port: baselinePort, pid: baseline.pid }, options, pool, appAccounts);
    log(`${name}: /auth/nginx decisions`);
    const nginx = await runNginx(httpPort, await loadAuthKey(installation), options, pool, appAccounts);
    const rss = {
      service: await service.rss(),
      haraka: processTreeRss(ours.pid),
      harakaBaseline: processTreeRss(baseline.pid),
      ...(redis && store === 'redis' ? { redis: processTreeRss(redis.pid) } : {}),
    };
    log(`${name}: profiling password+code decisions`);
    const profile = await profilePasswordAndCode(installation.context, pool.take(options.profileLogins, 'the profile'));
    return { name, store, accounts: accountCount, seedSeconds, smtp, nginx, rss, profile };
  } finally {
    for (const each of started.reverse()) {
      await each.stop().catch(() => undefined);
    }
    rmSync(home, { recursive: true, force: true });
  }
}

/** Formats one line of figures per store for the console. */
function summaryOf(run: StoreRun): string {
  const ratio = (comparison: SmtpComparison) => `${comparison.ratio.toFixed(2)}×`;
  return `${run.name}: SMTP vs flat_file: app password ${ratio(run.smtp.appPassword)}, password+code ${ratio(run.smtp.passwordAndCode)}, grant ${ratio(run.smtp.grant)}; service RSS ${(run.rss.service / 2 ** 20).toFixed(0)} MB`;
}

export async function runBenchmark(overrides: Partial<BenchOptions> = {}): Promise<BenchReport> {
  const options: BenchOptions = { ...DEFAULT_OPTIONS, ...overrides };
  const log = options.log ?? (() => undefined);
  const needed = accountsNeeded(options);
  if (needed > Math.min(options.smallAccounts, options.accounts)) {
    throw new Error(`invalid bench options: the scenarios use ${needed} accounts, more than the ${Math.min(options.smallAccounts, options.accounts)} seeded`);
  }
  const startedAt = new Date();
  const runs: StoreRun[] = [];
  const skipped: string[] = [];

  runs.push(await runStore(`SQLite, ${options.smallAccounts} accounts`, 'sqlite', options.smallAccounts, options));
  log(summaryOf(runs[runs.length - 1]));
  runs.push(await runStore(`SQLite, ${options.accounts} accounts`, 'sqlite', options.accounts, options));
  log(summaryOf(runs[runs.length - 1]));
  if (!options.redis) {
    skipped.push('Redis: turned off with --no-redis');
  } else if (!existsSync(REDIS_SERVER)) {
    skipped.push(`Redis: ${REDIS_SERVER} is not installed (sudo npm run setup:system)`);
  } else {
    const redis = await startRedis();
    try {
      runs.push(await runStore(`Redis, ${options.accounts} accounts`, 'redis', options.accounts, options, redis));
      log(summaryOf(runs[runs.length - 1]));
    } finally {
      await redis.stop();
    }
  }

  const { log: _log, resultsDir, readmePath, ...recorded } = options;
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    wallSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: await describeMachine(),
    options: recorded,
    runs,
    skipped,
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify(report, (key, value: unknown) => (key === 'latencies' ? undefined : value), 2)}\n`);
  if (readmePath) {
    writeReadme(readmePath, report);
  }
  return report;
}

const USAGE = `Usage: npm run bench -- [options]

Measures SMTP logins through Haraka with TwoStep against Haraka's auth/flat_file, and
/auth/nginx decisions, then rewrites bench/README.md and writes bench/results/*.json.

  --accounts N          enrolled accounts in the large SQLite and Redis stores (default ${DEFAULT_OPTIONS.accounts})
  --small-accounts N    enrolled accounts in the small SQLite store (default ${DEFAULT_OPTIONS.smallAccounts})
  --logins N            timed SMTP logins per kind of login (default ${DEFAULT_OPTIONS.logins})
  --warmup-logins N     untimed SMTP logins per kind and side before them (default ${DEFAULT_OPTIONS.warmupLogins})
  --requests N          /auth/nginx requests per kind (default ${DEFAULT_OPTIONS.requests})
  --code-requests N     /auth/nginx password+code requests, one fresh account each (default ${DEFAULT_OPTIONS.codeRequests})
  --paced-requests N    /auth/nginx requests per kind at a fixed rate (default ${DEFAULT_OPTIONS.pacedRequests})
  --paced-rate N        requests per second of those (default ${DEFAULT_OPTIONS.pacedRate})
  --smtp-concurrency N  SMTP logins in flight (default ${DEFAULT_OPTIONS.smtpConcurrency})
  --http-concurrency N  /auth/nginx connections (default ${DEFAULT_OPTIONS.httpConcurrency})
  --no-redis            skip the Redis store
  --no-readme           keep bench/README.md; write only the JSON results
  --help                show this text
`;

function parseArguments(argv: readonly string[]): Partial<BenchOptions> & { help?: boolean } {
  const numeric: Record<string, keyof BenchOptions> = {
    '--accounts': 'accounts',
    '--small-accounts': 'smallAccounts',
    '--logins': 'logins',
    '--warmup-logins': 'warmupLogins',
    '--requests': 'requests',
    '--code-requests': 'codeRequests',
    '--paced-requests': 'pacedRequests',
    '--paced-rate': 'pacedRate',
    '--smtp-concurrency': 'smtpConcurrency',
    '--http-concurrency': 'httpConcurrency',
  };
  const parsed: Record<string, unknown> = {};
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--help') {
      parsed.help = true;
    } else if (argument === '--no-redis') {
      parsed.redis = false;
    } else if (argument === '--no-readme') {
      parsed.readmePath = undefined;
    } else if (argument in numeric) {
      const value = Number(argv[++index]);
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`invalid ${argument} ${argv[index] ?? '(missing)'}: expected a positive whole number`);
      }
      parsed[numeric[argument]] = value;
    } else {
      throw new Error(`unknown option ${argument}: expected ${[...Object.keys(numeric), '--no-redis', '--no-readme', '--help'].join(', ')}`);
    }
  }
  return parsed as Partial<BenchOptions> & { help?: boolean };
}

if (require.main === module) {
  const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  let overrides: Partial<BenchOptions> & { help?: boolean };
  try {
    overrides = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (overrides.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  runBenchmark({ ...overrides, log })
    .then((report) => {
      log(`done in ${report.wallSeconds.toFixed(0)} s; results in ${DEFAULT_OPTIONS.resultsDir}${overrides.readmePath === undefined && 'readmePath' in overrides ? '' : ' and bench/README.md'}`);
      process.exit(0);
    })
    .catch((error: Error) => {
      process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
      process.exit(1);
    });
}
