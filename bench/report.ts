import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { BenchReport, StoreRun } from './run';
import type { LoadResult } from './load';

export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly haraka: string;
  readonly redis?: string;
}

export async function describeMachine(): Promise<MachineDescription> {
  const cpus = os.cpus();
  let redis: string | undefined;
  if (existsSync('/usr/bin/redis-server')) {
    redis = /v=(\S+)/.exec(execFileSync('/usr/bin/redis-server', ['--version'], { encoding: 'utf8' }))?.[1];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const haraka = (require('Haraka/package.json') as { version: string }).version;
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    haraka,
    redis,
  };
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '–' : `${(bytes / 2 ** 20).toFixed(0)} MB`);
const rate = (result: LoadResult | undefined) => (result ? `${result.perSecond.toFixed(0)}/s` : '–');
const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(2)} ms`);
const failures = (result: LoadResult | undefined) => (result && result.failures > 0 ? ` (${result.failures} failed: ${result.firstFailure ?? ''})` : '');

function smtpTable(run: StoreRun): string[] {
  const rows = [
    ['app password', run.smtp.appPassword],
    ['password+code', run.smtp.passwordAndCode],
    ['grant', run.smtp.grant],
  ] as const;
  return [
    '| login | flat_file logins/s | twostep logins/s | ratio | twostep p50 / p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      ([label, result]) =>
        `| ${label} | ${rate(result.baseline)}${failures(result.baseline)} | ${rate(result.twostep)}${failures(result.twostep)} | ${result.ratio.toFixed(2)}× | ${ms(result.twostep.p50Ms)} / ${ms(result.twostep.p99Ms)} |`,
    ),
  ];
}

function nginxTable(run: StoreRun): string[] {
  const nginx = run.nginx;
  const lines = ['| request | decisions/s | p50 | p99 |', '| --- | ---: | ---: | ---: |', `| trivial responder | ${rate(nginx.trivial)} | ${ms(nginx.trivial.p50Ms)} | ${ms(nginx.trivial.p99Ms)} |`];
  if (!nginx.available) {
    lines.push(`| /auth/nginx | not measured: ${nginx.reason} | | |`);
    return lines;
  }
  for (const [label, result] of [
    ['app password', nginx.appPassword],
    ['password+code', nginx.passwordAndCode],
    ['grant', nginx.grant],
  ] as const) {
    lines.push(`| ${label} | ${rate(result)}${failures(result)} | ${ms(result?.p50Ms)} | ${ms(result?.p99Ms)} |`);
  }
  return lines;
}

function profileTable(run: StoreRun): string[] {
  return [
    `${run.profile.logins} password+code decisions one after another in the benchmark process, ${ms(run.profile.totalMsPerLogin)} each on average${run.profile.failures ? ` (${run.profile.failures} not accepted)` : ''}:`,
    '',
    '| where | calls per login | ms per login |',
    '| --- | ---: | ---: |',
    ...Object.entries(run.profile.breakdown).map(([name, entry]) => `| ${name} | ${(entry.calls / run.profile.logins).toFixed(1)} | ${entry.msPerLogin.toFixed(3)} |`),
  ];
}

/** Writes bench/README.md: how to run, the machine, and one section per store. */
export function writeReadme(path: string, report: BenchReport): void {
  const { machine, options } = report;
  const lines = [
    '# TwoStep benchmark',
    '',
    'Measures what 2-Step Verification costs a mail front end. Each section below was measured in',
    'one run of `npm run bench` on the machine described, with both sides of each comparison',
    'running at the same time on the same machine; absolute figures depend on that machine, the',
    'ratios much less.',
    '',
    '## How to run',
    '',
    '```sh',
    'sudo npm run setup:system   # redis-server for the Redis rows (optional)',
    'npm run bench               # about 3 to 5 minutes; rewrites this page',
    'npm run bench -- --accounts 20000 --logins 200 --no-redis   # smaller and faster',
    '```',
    '',
    'Raw results go to `bench/results/*.json` (not committed). `npm test` runs the same code once',
    'at a tiny size (test/bench/) so the benchmark keeps working; its numbers mean nothing.',
    '',
    '## What is measured',
    '',
    `- **SMTP AUTH** through Haraka ${machine.haraka} (one process each, \`nodes=0\`): the twostep plugin against Haraka's`,
    '  own `auth/flat_file` with the same accounts and plaintext passwords (TwoStep\'s passwd file uses',
    '  `{PLAIN}`, so the first factor costs the same). Every login is a new connection with EHLO,',
    '  STARTTLS (a full TLS handshake), EHLO, AUTH PLAIN and QUIT, from one client process with',
    `  ${options.smtpConcurrency} logins in flight. The flat_file side always sends the bare password.`,
    '  - *app password*: round robin over the app passwords of ' + `${options.appAccounts} accounts.`,
    '  - *password+code*: a code\'s time step can be used once per device, so every login uses an',
    '    account that has not signed in before, with the code of the current step.',
    `  - *grant*: ${options.grantAccounts} accounts sign in once with password+code (not timed); the timed logins`,
    '    reuse those exact credentials from the same address, as mail clients do when they reconnect.',
    `- **/auth/nginx** decisions (nginx mail proxy \`auth_http\` requests) from ${options.httpConcurrency} keep-alive connections`,
    '  in the benchmark process to the HTTP service in its own process, against a route on the',
    '  same Fastify server that answers `Auth-Status: OK` without any work.',
    '  Same three kinds of login; password+code again uses fresh accounts.',
    '- **Stores**: a small SQLite store, then SQLite and Redis each holding the given number of',
    '  enrolled accounts (one device, one app password and ten recovery codes each), written with',
    '  bulk imports rather than through the login path.',
    '- **Memory**: resident set size (RSS) of the HTTP service and of each Haraka, after the load.',
    '- **Profile**: one password+code decision at a time with the store and the password backend',
    '  wrapped in timers; the rest is CPU inside the decision.',
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpu}, ${machine.cores} cores (shared with other work while measuring)`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- OS: ${machine.os}; Node ${machine.node}; Haraka ${machine.haraka}${machine.redis ? `; Redis ${machine.redis}` : ''}`,
    `- Run started ${report.startedAt}, took ${report.wallSeconds.toFixed(0)} s`,
    '',
    '## Results',
    '',
    'Targets from the issue: SMTP at least 0.9× the flat_file baseline; /auth/nginx p99 under 2 ms',
    'for app-password and grant decisions; service RSS under 200 MB with 100,000 accounts.',
    '',
  ];
  for (const run of report.runs) {
    lines.push(`### ${run.name}`, '', `Seeded in ${run.seedSeconds.toFixed(1)} s.`, '', '**SMTP AUTH**', '', ...smtpTable(run), '');
    lines.push('**/auth/nginx**', '', ...nginxTable(run), '');
    lines.push(
      `**Memory (RSS)**: HTTP service ${mib(run.rss.service)}, Haraka with twostep ${mib(run.rss.haraka)}, Haraka with flat_file ${mib(run.rss.harakaBaseline)}${run.rss.redis !== undefined ? `, redis-server ${mib(run.rss.redis)}` : ''}.`,
      '',
    );
    lines.push('**Where the time goes (password+code)**', '', ...profileTable(run), '');
  }
  for (const note of report.skipped) {
    lines.push(`- Skipped: ${note}`);
  }
  lines.push(...ANALYSIS);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** What the run of 2026-12-04 showed and what was done; kept by hand, so check it against a new run. */
const ANALYSIS = [
  '',
  '## Reading the numbers',
  '',
  'Measured on 2026-12-04 while other work kept the 2 cores busy (load average about 10), so',
  'single figures move by tens of percent between runs; the SMTP rounds alternate between the two',
  'Haraka instances to spread that noise over both sides.',
  '',
  '- **Targets.** Service RSS stayed at 62 to 81 MB with 100,000 accounts, under 200 MB. The SMTP',
  '  ratios were 0.34 to 0.95, below the 0.9 target except for grant logins on Redis. /auth/nginx',
  '  was not measured: the endpoint is not in this build, and the harness says so instead of timing a 404.',
  '- **Haraka memory.** Haraka with twostep used 343 to 375 MB with 100,000 accounts against 162 MB',
  '  for flat_file. NOTE: the cause was not investigated; the passwd file, kept parsed in memory,',
  '  is one candidate.',
  '- **Slowest path: password+code.** One decision makes eight store calls one after another, five',
  '  of them writes: step claim, login grant, last use, two counter resets and the audit event. On',
  '  SQLite each write is its own transaction, synced to disk in WAL mode, and took 0.5 to 2 ms',
  '  under this load. On Redis each call is one round trip. The work inside the decision (TOTP,',
  '  AES-GCM decryption, HMAC) took about 0.1 ms. On Redis, 3 of 300 password+code logins failed,',
  '  with a p99 of 4.5 s, most likely the 2 s command timeout hit under this load (the report now',
  '  records the SMTP reply of a failure).',
  '',
  'What was done:',
  '',
  '- Haraka\'s tls plugin started `openssl dhparam 2048` at every start of a fresh instance, which',
  '  ran for minutes, outlived Haraka and took a core away from every later measurement. Instances',
  '  now get the fixed RFC 3526 2048-bit group as dhparams.pem.',
  '- Login auditing was silently off in every instance whose twostep.ini had no [audit] section, so',
  '  the first runs left out one write per login. That is fixed, and the numbers above include it.',
  '',
  'Next steps, not done: make the success path of password+code one store call (one SQLite',
  'transaction, one Redis script) instead of five writes; skip resetting counters that are already',
  'zero; consider `PRAGMA synchronous = NORMAL` for SQLite, which saves a sync per write but can',
  'forget the last claimed steps on a power loss.',
];
