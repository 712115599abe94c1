import type { Command } from 'commander';
import QRCode from 'qrcode';
import { provisionSecretKey, resetSecretKey } from '../../core/accounts';
import { formatCount } from '../../core/counts';
import { hasUriScheme, parseOtpauthUri, parseTotpSettings } from '../../core/totp';
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
    .description('add a device with an existing secret key (base32) or otpauth URI, for example one moved from another system')
    .argument('<account>', 'the mail login, user@example.org')
    .argument('<key>', 'the base32 secret key (spaces, hyphens and case are ignored) or an otpauth://totp/ URI; "-" reads it from stdin')
    .option('--name <name>', 'device name shown in status and device lists', 'Provisioned device')
    .option('--algorithm <name>', 'HMAC of the codes: SHA1, SHA256 or SHA512 (default: the URI\'s, else SHA1)')
    .option('--digits <n>', 'code length, 6 or 8 (default: the URI\'s, else 6)')
    .option('--period <seconds>', 'time step, 15 to 120 (default: the URI\'s, else 30)');

  helpers.action<{ name: string; algorithm?: string; digits?: string; period?: string }>(set, async (session, [rawAccount, rawKey], options) => {
    const input = await readKeyArgument(rawKey);
    // An otpauth URI brings its own parameters, and the options override them. Any input with a
    // scheme is read as a URI, so a wrong scheme is reported as such rather than as bad base32.
    const uri = hasUriScheme(input.trim()) ? parseOtpauthUri(input.trim()) : undefined;
    const settings = parseTotpSettings({
      algorithm: options.algorithm ?? uri?.algorithm,
      digits: options.digits ?? uri?.digits,
      period: options.period ?? uri?.period,
    });
    const installation = await session.open();
    const account = await helpers.requireAccount(installation, rawAccount);
    const device = await provisionSecretKey(installation.context, session.actor, account, uri ? uri.secret : input, options.name, settings);

    session.output.result(
      {
        account,
        device: { id: device.id, name: device.name, createdAt: isoTime(device.createdAt), algorithm: settings.algorithm.toUpperCase(), digits: settings.digits, period: settings.period },
      },
      (result) =>
        `Added device "${result.device.name}" (${result.device.id}, ${result.device.algorithm}, ${result.device.digits} digits, ${result.device.period} s) to ${result.account}; 2-Step Verification is on.`,
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
      result.replaced > 0
        ? `New secret key for ${account} on device "${result.device.name}"; it replaced ${formatCount(result.replaced, 'device')} of the account.`
        : `New secret key for ${account} on device "${result.device.name}"; 2-Step Verification is on.`,
      'Scan the QR code with the authenticator app, or type the key. This is the only time it is shown.',
      '',
      qr.trimEnd(),
      '',
      `Secret key:  ${result.formattedKey}`,
      `otpauth URI: ${result.otpauthUri}`,
    ]);
  });
}
