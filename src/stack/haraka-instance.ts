import { spawn, type ChildProcess } from 'node:child_process';
import { createDiffieHellmanGroup } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { generate } from 'selfsigned';
import { PACKAGE_ROOT } from '../installation';

export interface HarakaInstanceOptions {
  /** The Haraka instance folder; its config/ is created or updated. */
  readonly home: string;
  readonly smtpPort: number;
  readonly httpPort: number;
  /** Extra twostep.ini lines, appended after the generated ones (tests use this). */
  readonly extraIni?: string;
  /** Haraka cluster workers; 0 runs Haraka in one process. */
  readonly workers?: number;
  readonly logLevel?: string;
}

async function writeIfMissing(path: string, content: string, mode = 0o644): Promise<void> {
  if (!existsSync(path)) {
    await fs.writeFile(path, content, { mode });
  }
}

/**
 * Lays out a Haraka instance that runs the twostep plugin as a submission server on
 * 127.0.0.1: plugins, smtp.ini, a self-signed certificate made on first start, and a
 * node_modules link so Haraka finds this package as `haraka-plugin-twostep`.
 */
export async function prepareHarakaInstance(options: HarakaInstanceOptions): Promise<void> {
  const config = join(options.home, 'config');
  await fs.mkdir(config, { recursive: true, mode: 0o700 });

  // Haraka's own defaults, as `haraka -i` copies them into a new instance. Haraka reads
  // connection.ini only from the instance folder and crashes on every connection without it.
  const harakaDefaults = join(dirname(require.resolve('Haraka/package.json')), 'config');
  for (const entry of await fs.readdir(harakaDefaults, { withFileTypes: true })) {
    if (entry.isFile()) {
      const target = join(config, entry.name);
      if (!existsSync(target)) {
        await fs.copyFile(join(harakaDefaults, entry.name), target);
      }
    }
  }

  // tls first: auth_base offers AUTH only after STARTTLS.
  await fs.writeFile(join(config, 'plugins'), 'tls\ntwostep\n');
  await fs.writeFile(
    join(config, 'smtp.ini'),
    [`listen=127.0.0.1:${options.smtpPort}`, `nodes=${options.workers ?? 0}`, 'daemonize=false', 'graceful_shutdown=false', ''].join('\n'),
  );
  await fs.writeFile(join(config, 'log.ini'), `[main]\nlevel=${options.logLevel ?? 'info'}\ntimestamps=true\nformat=default\n`);
  await writeIfMissing(join(config, 'me'), 'localhost\n');
  await writeIfMissing(join(config, 'host_list'), 'localhost\n');

  const keyPath = join(config, 'tls_key.pem');
  const certPath = join(config, 'tls_cert.pem');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048 });
    await fs.writeFile(keyPath, pems.private, { mode: 0o600 });
    await fs.writeFile(certPath, pems.cert);
  }

  // Without dhparams.pem Haraka's tls plugin starts `openssl dhparam 2048`, which runs for
  // minutes and outlives a Haraka that stops sooner. The RFC 3526 2048-bit group is public and fixed.
  await writeIfMissing(join(config, 'dhparams.pem'), standardDhParameters());

  const iniPath = join(config, 'twostep.ini');
  const generated = [
    '; Written by the TwoStep stack on each start; edit the settings below the marker line.',
    '[main]',
    `panel_url = http://127.0.0.1:${options.httpPort}/`,
    '[http]',
    'host = 127.0.0.1',
    `port = ${options.httpPort}`,
    '[notify]',
    '; This local stack cannot deliver mail (no queue plugin), so notification emails are off;',
    '; set enabled = true with smtp_host/smtp_port of a real MTA below the marker line.',
    'enabled = false',
  ];
  let kept = '';
  if (existsSync(iniPath)) {
    const current = await fs.readFile(iniPath, 'utf8');
    const marker = current.indexOf('; --- your settings ---');
    kept = marker >= 0 ? current.slice(marker) : '';
  }
  if (kept === '') {
    kept = '; --- your settings ---\n';
  }
  await fs.writeFile(iniPath, `${generated.join('\n')}\n${kept}${options.extraIni ? `\n${options.extraIni}\n` : ''}`);

  const modules = join(options.home, 'node_modules');
  await fs.mkdir(modules, { recursive: true });
  const link = join(modules, 'haraka-plugin-twostep');
  if (!existsSync(link)) {
    await fs.symlink(PACKAGE_ROOT, link, 'dir');
  }
}

/** Encodes the RFC 3526 2048-bit MODP group as a PEM `DH PARAMETERS` block (DER: SEQUENCE { INTEGER p, INTEGER 2 }). */
function standardDhParameters(): string {
  const prime = createDiffieHellmanGroup('modp14').getPrime();
  const integer = Buffer.concat([Buffer.from([0x02, 0x82, 0x01, 0x01, 0x00]), prime]);
  const generator = Buffer.from([0x02, 0x01, 0x02]);
  const body = Buffer.concat([integer, generator]);
  const der = Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN DH PARAMETERS-----\n${lines.join('\n')}\n-----END DH PARAMETERS-----\n`;
}

/** Starts Haraka on a prepared instance folder. */
export function spawnHaraka(home: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const harakaBin = require.resolve('Haraka/bin/haraka');
  return spawn(process.execPath, [harakaBin, '-c', home], { env: { ...env, HARAKA: home }, stdio: ['ignore', 'pipe', 'pipe'] });
}
