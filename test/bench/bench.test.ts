import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchmark, type BenchReport } from '../../bench/run';
import { REDIS_SERVER } from '../helpers/redis';

// Runs the whole benchmark once at a tiny size so it keeps working; the numbers mean nothing.
describe('benchmark at tiny size', function () {
  this.timeout(180_000);
  let folder: string;
  let report: BenchReport;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-bench-test-'));
    report = await runBenchmark({
      accounts: 120,
      smallAccounts: 60,
      appAccounts: 4,
      grantAccounts: 3,
      logins: 8,
      warmupLogins: 2,
      requests: 20,
      codeRequests: 4,
      pacedRequests: 5,
      pacedRate: 200,
      profileLogins: 4,
      smtpConcurrency: 2,
      httpConcurrency: 2,
      redis: existsSync(REDIS_SERVER),
      resultsDir: join(folder, 'results'),
      readmePath: join(folder, 'README.md'),
    });
  });

  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('measures every store', () => {
    const expected = existsSync(REDIS_SERVER) ? ['SQLite, 60 accounts', 'SQLite, 120 accounts', 'Redis, 120 accounts'] : ['SQLite, 60 accounts', 'SQLite, 120 accounts'];
    assert.deepEqual(report.runs.map((run) => run.name), expected);
  });

  it('every SMTP login succeeds', () => {
    for (const run of report.runs) {
      for (const [scenario, comparison] of Object.entries(run.smtp)) {
        assert.equal(comparison.baseline.failures, 0, `${run.name} ${scenario} flat_file: ${comparison.baseline.firstFailure}`);
        assert.equal(comparison.twostep.failures, 0, `${run.name} ${scenario} twostep: ${comparison.twostep.firstFailure}`);
        assert.ok(comparison.ratio > 0);
        // Linux has /proc, so the CPU time of both Harakas is recorded (a few ticks at this size).
        assert.ok(comparison.cpuMsPerLogin, `${run.name} ${scenario}: no CPU time`);
        assert.ok(Number.isFinite(comparison.cpuMsPerLogin.baseline), `${run.name} ${scenario}: flat_file CPU`);
        assert.ok(comparison.cpuMsPerLogin.baseline >= 0, `${run.name} ${scenario}: flat_file CPU`);
        assert.ok(Number.isFinite(comparison.cpuMsPerLogin.twostep), `${run.name} ${scenario}: twostep CPU`);
        assert.ok(comparison.cpuMsPerLogin.twostep >= 0, `${run.name} ${scenario}: twostep CPU`);
        // The event loop's share, from each Haraka's main thread. Linux rounds the CPU time of a
        // thread and of a process separately, so at a few ticks the share is not compared to the total.
        assert.ok(comparison.loopCpuMsPerLogin, `${run.name} ${scenario}: no event loop CPU time`);
        assert.ok(Number.isFinite(comparison.loopCpuMsPerLogin.baseline), `${run.name} ${scenario}: flat_file loop CPU`);
        assert.ok(comparison.loopCpuMsPerLogin.baseline >= 0, `${run.name} ${scenario}: flat_file loop CPU`);
        assert.ok(Number.isFinite(comparison.loopCpuMsPerLogin.twostep), `${run.name} ${scenario}: twostep loop CPU`);
        assert.ok(comparison.loopCpuMsPerLogin.twostep >= 0, `${run.name} ${scenario}: twostep loop CPU`);
      }
    }
  });

  it('nginx results are real or explained', () => {
    for (const run of report.runs) {
      assert.equal(run.nginx.trivial.failures, 0);
      if (run.nginx.available) {
        for (const result of [run.nginx.appPassword, run.nginx.passwordAndCode, run.nginx.grant]) {
          assert.equal(result?.failures, 0, result?.firstFailure);
        }
        for (const result of [run.nginx.paced?.trivial, run.nginx.paced?.appPassword, run.nginx.paced?.grant]) {
          assert.equal(result?.count, 5);
          assert.equal(result?.failures, 0, result?.firstFailure);
        }
      } else {
        assert.match(run.nginx.reason ?? '', /endpoint/);
      }
    }
  });

  it('profile and memory are recorded', () => {
    for (const run of report.runs) {
      assert.equal(run.profile.failures, 0);
      assert.ok(run.profile.breakdown['store.attemptSecondFactor'].calls >= run.profile.logins);
      assert.ok(run.rss.service > 0, `${run.name}: service RSS`);
      assert.ok(run.rss.haraka > 0, `${run.name}: Haraka RSS`);
      assert.ok(run.rss.harakaBaseline > 0, `${run.name}: baseline Haraka RSS`);
    }
  });

  it('writes the results page and raw JSON', () => {
    const page = readFileSync(join(folder, 'README.md'), 'utf8');
    assert.match(page, /## Machine/);
    assert.match(page, /### SQLite, 120 accounts/);
    assert.match(page, /\| p50 \/ p99 at 200\/s \|/);
    const files = readdirSync(join(folder, 'results'));
    assert.equal(files.length, 1);
    const raw = JSON.parse(readFileSync(join(folder, 'results', files[0]), 'utf8')) as BenchReport;
    assert.equal(raw.runs.length, report.runs.length);
  });
});
