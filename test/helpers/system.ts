import { existsSync } from 'node:fs';

/** Debian packages behind each program that end-to-end suites start. */
const PACKAGES: Record<string, string> = {
  '/usr/bin/chromium': 'chromium',
  '/usr/sbin/dovecot': 'dovecot-imapd dovecot-pop3d dovecot-auth-lua',
  '/usr/sbin/nginx': 'nginx libnginx-mod-mail',
  '/usr/lib/nginx/modules/ngx_mail_module.so': 'libnginx-mod-mail',
  '/usr/bin/redis-server': 'redis-server',
};

export const SETUP_COMMAND = 'sudo npm run setup:system';

/** Returns the programs from `paths` that are not installed. */
export function missingPrograms(paths: readonly string[]): string[] {
  return paths.filter((path) => !existsSync(path));
}

/**
 * Declares a suite that needs Debian programs. Without them the suite shows as pending with
 * the command that installs them, never as passing.
 */
export function describeWithPrograms(title: string, paths: readonly string[], body: (this: Mocha.Suite) => void): Mocha.Suite | void {
  const missing = missingPrograms(paths);
  if (missing.length === 0) {
    return describe(title, body);
  }
  const packages = [...new Set(missing.map((path) => PACKAGES[path] ?? path))].join(' ');
  return describe.skip(`${title} (pending: needs ${packages}; install with: ${SETUP_COMMAND})`, body);
}
