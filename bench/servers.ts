import { fork, type ChildProcess } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareHarakaInstance, spawnHaraka } from '../src/stack/haraka-instance';

export interface Started {
  readonly pid: number;
  stop(): Promise<void>;
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
    } else {
      child.once('exit', () => resolve());
    }
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
    await waitForExit(child);
    clearTimeout(timer);
  }
}

/** Waits until Haraka sends its greeting on `port`; fails with Haraka's output when it exits or times out. */
async function waitForSmtp(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`Haraka exited during start:\n${output().slice(-2000)}`);
    }
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString().startsWith('220'));
      });
      socket.once('error', () => resolve(false));
    });
    if (greeted) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Haraka did not greet on 127.0.0.1:${port} within 30 s:\n${output().slice(-2000)}`);
}

export async function startHaraka(home: string, port: number, env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawnHaraka(home, env);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  await waitForSmtp(child, port, () => output);
  return { pid: child.pid!, stop: () => stopChild(child) };
}

/** Lays out our Haraka: the twostep plugin, with its store and passwd file named in twostep.ini. */
export async function prepareTwoStepHaraka(home: string, port: number, httpPort: number, extraIni: string): Promise<void> {
  await prepareHarakaInstance({ home, smtpPort: port, httpPort, extraIni, logLevel: 'warn' });
}

/** Lays out the baseline: Haraka with `tls` and its own `auth/flat_file`, with the same certificate as ours. */
export async function prepareFlatFileHaraka(home: string, port: number, oursConfig: string, flatFileIni: string): Promise<void> {
  const config = join(home, 'config');
  await fs.mkdir(config, { recursive: true, mode: 0o700 });
  await fs.writeFile(join(config, 'plugins'), 'tls\nauth/flat_file\n');
  await fs.writeFile(join(config, 'smtp.ini'), [`listen=127.0.0.1:${port}`, 'nodes=0', 'daemonize=false', 'graceful_shutdown=false', ''].join('\n'));
  await fs.writeFile(join(config, 'log.ini'), '[main]\nlevel=warn\ntimestamps=true\n');
  for (const file of ['me', 'host_list', 'tls_key.pem', 'tls_cert.pem', 'dhparams.pem', 'connection.ini']) {
    await fs.copyFile(join(oursConfig, file), join(config, file));
  }
  await fs.copyFile(flatFileIni, join(config, 'auth_flat_file.ini'));
}

export interface ServiceProcess extends Started {
  readonly port: number;
  rss(): Promise<number>;
}

/** Starts bench/service.js (the HTTP auth service) as a child process. */
export async function startService(configDir: string, port: number, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const child = fork(join(__dirname, 'service.js'), [configDir, String(port)], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the bench service exited with ${code}: ${errors.slice(-2000)}`)));
  });
  return {
    pid: child.pid!,
    port,
    rss: () =>
      new Promise((resolve) => {
        child.once('message', (message: { rss: number }) => resolve(message.rss));
        child.send('rss');
      }),
    async stop() {
      if (child.connected) {
        child.send('stop');
      }
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await waitForExit(child);
      clearTimeout(timer);
    },
  };
}

/** Returns a process and all its descendants (Haraka may fork a worker). */
function processTree(rootPid: number): Set<number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return tree;
}

/** Returns the resident memory of a process and all its descendants, in bytes. */
export function processTreeRss(rootPid: number): number {
  let total = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += match ? Number(match[1]) * 1024 : 0;
    } catch {
      // Gone.
    }
  }
  return total;
}

/** Linux reports CPU time in /proc in ticks of USER_HZ, which is 100 per second on x86 and Arm. */
const MS_PER_TICK = 10;

/** Reads the CPU time (user and system) in one /proc stat file, in milliseconds. */
function statCpuMs(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the stat file (utime, stime), counted from the state field as 0.
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/**
 * Returns the CPU time (user and system) a process and its descendants have used so far, in
 * milliseconds, or undefined where /proc does not have it. With `mainThreadOnly`, only each
 * process's main thread counts: for Node, the event loop, without worker and libuv threads.
 */
export function processTreeCpuMs(rootPid: number, mainThreadOnly = false): number | undefined {
  let total = 0;
  try {
    for (const pid of processTree(rootPid)) {
      total += statCpuMs(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
    }
  } catch {
    return undefined;
  }
  return Number.isFinite(total) ? total : undefined;
}
