import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { openInstallation, type Installation } from '../../src/installation';

/** The built CLI, as `npm` installs it: dist/src/cli/main.js next to dist/test/cli/. */
export const CLI_PATH = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** The audit actor the CLI writes for the user running the tests. */
export const EXPECTED_ACTOR = `cli:${userInfo().username}`;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface RunOptions {
  /** Text for stdin; stdin is closed either way, so nothing waits for a terminal. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A temporary TWOSTEP_HOME with an empty config folder, as `npm start` leaves it. */
export class CliHome {
  readonly home = mkdtempSync(join(tmpdir(), 'twostep-cli-'));
  readonly configDir = join(this.home, 'config');
  readonly dataDir = join(this.home, 'twostep-data');

  constructor() {
    mkdirSync(this.configDir);
  }

  /** Runs `node dist/src/cli/main.js ARGS` with TWOSTEP_HOME set to this folder. */
  run(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, TWOSTEP_HOME: this.home, ...options.env };
    for (const name of ['TWOSTEP_DATA_DIR', 'TWOSTEP_ENCRYPTION_KEY', 'TWOSTEP_DEBUG']) {
      if (!options.env || !(name in options.env)) {
        delete env[name];
      }
    }
    return runProcess(args, env, options.input);
  }

  /** Runs a command that must succeed with `--json` and returns the parsed document. */
  async json<T = Record<string, unknown>>(args: readonly string[], options: RunOptions = {}): Promise<T> {
    const result = await this.run([...args, '--json'], options);
    if (result.code !== 0) {
      throw new Error(`twostep ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as T;
  }

  /** Opens the same installation in this process, to check what the CLI wrote. Close it before the next CLI run. */
  open(): Promise<Installation> {
    return openInstallation({ configDir: this.configDir, env: {} });
  }

  remove(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

function runProcess(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A CLI that stays alive (left-over file watchers) fails the test instead of hanging it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, durationMs: Date.now() - started });
    });
    child.stdin.end(input ?? '');
  });
}

/** Checks the shape every expected error must have: one `twostep: …` line and nothing on stdout. */
export function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line !== '');
}

/** Asserts an expected failure: the exit status, one `twostep: …` line matching `pattern` on stderr, and an empty stdout. */
export function assertFailure(result: CliResult, exitCode: number, pattern: RegExp): void {
  const lines = errorLines(result);
  assert.equal(result.code, exitCode, `exit status; stderr: ${result.stderr}`);
  assert.equal(lines.length, 1, `stderr has one line: ${result.stderr}`);
  assert.match(lines[0], /^twostep: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(result.stdout, '');
}
