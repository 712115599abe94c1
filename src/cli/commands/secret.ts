import type { Command } from 'commander';
import QRCode from 'qrcode';
import { provisionSecretKey, resetSecretKey } from '../../core/accounts';
import { InputError } from '../errors';
import type { CliHelpers } from '../helpers';
import { isoTime } from '../output';
import { readStdinLine } from '../prompt';

/** Reads the key from stdin when KEY is `-`, which keeps it out of the shell history and the process list. */
async function readKeyArgument(raw: string): Promise<string> {
  if (raw !== '-') {
    return raw;
  }
  const line = await readStdinLine();
  if (line === undefined) {
    throw new InputError('missing secret key: KEY is "-" but standard input is empty');
  }
  return line;
}

export function register(program: Command, helpers: CliHelpers): void {
  const group = program.command('secret').description('provision or replace the secret key of an account');

  const set = group
    .command('set')
    .description('add a device with an existing secret key (base32), for example one moved from another system')
    .argument('<account>', 'the mail login, user@example.org')
    .argument('<key>', 'the base32 secret key; spaces, hyphens and case are ignored; "-" reads it from stdin')
    .option('--name <name>', 'device name shown in status and device lists', 'Provisioned device');

  helpers.action<{ name: string }>(set, async (session, [rawAccount, rawKey], options) => {
    const key = await readKeyArgument(rawKey);
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const device = await provisionSecretKey(installation.context, session.actor, account, key, options.name);

    session.output.result(
      { account, device: { id: device.id, name: device.name, createdAt: isoTime(device.createdAt) } },
      (result) => `Added device "${result.device.name}" (${result.device.id}) to ${result.account}; 2-Step Verification is on.`,
    );
  });

  const reset = group
    .command('reset')
    .description('replace every device of the account with one new secret key and print its QR code, key and otpauth URI once')
    .argument('<account>', 'the mail login, user@example.org')
    .option('--name <name>', 'device name shown in status and device lists', 'Authenticator');

  helpers.action<{ name: string }>(reset, async (session, [rawAccount], options) => {
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const result = await resetSecretKey(installation.context, session.actor, account, options.name);

    if (session.output.json) {
      session.output.result({ account, otpauthUri: result.otpauthUri, secretKey: result.secretKey }, () => []);
      return;
    }
    // A terminal gets colour codes that draw dark modules on a light square whatever its theme. A
    // pipe or file gets plain block characters, which read right on a light background.
    const qr = await QRCode.toString(result.otpauthUri, session.output.isTerminal ? { type: 'terminal', small: true } : { type: 'utf8' });
    session.output.result(result, () => [
      `New secret key for ${account} on device "${result.device.name}"; any other device of the account was removed.`,
      'Scan the QR code with the authenticator app, or type the key. This is the only time it is shown.',
      '',
      qr.trimEnd(),
      '',
      `Secret key:  ${result.formattedKey}`,
      `otpauth URI: ${result.otpauthUri}`,
    ]);
  });
}
