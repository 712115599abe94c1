import type { Logger } from '../core/context';
import type { IniConfig } from '../core/options';
import { applyIni, readIni, settingsReadAtOpen, warnOfUnknownSettings, type Installation } from '../installation';

/**
 * Watches twostep.ini (through haraka-config, as the Haraka plugin does) and calls `apply`
 * with the installation's new settings after each valid change: policy, admins, issuer,
 * throttle settings and the passwd file then hold without a restart. An invalid file is logged
 * and the previous settings stay. `[http]` and `[session]` settings still need a restart.
 *
 * The settings read when an installation opens (store, data folder, backend type, activity
 * batching, notifications) need a new installation: `reopen` opens one with the new file, and
 * it is applied once it has opened. When it cannot open, the error is logged and the previous
 * installation stays. Without `reopen`, a change to them is logged as needing a restart.
 */
export function watchOptions(
  installation: Installation,
  logger: Logger,
  apply: (updated: Installation) => void,
  reopen?: (ini: IniConfig) => Promise<Installation>,
): void {
  // The installation whose open-time settings are in force.
  let opened = installation;
  // The latest reopening: an earlier one that finishes later is dropped.
  let reopening: Promise<Installation> | undefined;
  const fields = { event: 'config-reload', config_dir: installation.configDir };

  const reopenWith = (ini: IniConfig, changed: readonly string[]): void => {
    const attempt = reopen!(ini);
    reopening = attempt;
    attempt.then(
      (fresh) => {
        if (reopening !== attempt) {
          void fresh.close().catch(() => undefined);
          return;
        }
        reopening = undefined;
        opened = fresh;
        apply(fresh);
        logger.info({ ...fields, settings: changed.join(', ') }, 'twostep.ini changed settings read when the installation opens: it was opened again with the new values');
      },
      (error: Error) => {
        if (reopening === attempt) {
          reopening = undefined;
          logger.error(
            { ...fields, settings: changed.join(', '), cause: error.message },
            'twostep.ini changed settings read when the installation opens, but it cannot open with them: keeping the previous settings',
          );
        }
      },
    );
  };

  let lastRead = JSON.stringify(installation.ini);
  const reload = (): void => {
    try {
      const ini = readIni(installation.configDir, reload);
      if (JSON.stringify(ini) === lastRead) {
        // haraka-config can report one change of the file more than once.
        return;
      }
      apply(applyIni(opened, ini));
      lastRead = JSON.stringify(ini);
      logger.info(fields, 'twostep.ini changed: settings reloaded');
      warnOfUnknownSettings(logger, ini);
      const changed = settingsReadAtOpen(opened.ini, ini);
      if (changed.length === 0) {
        // Back to the values in force: a reopening still under way is dropped when it ends.
        reopening = undefined;
      } else if (reopen) {
        reopenWith(ini, changed);
      } else {
        logger.warn({ ...fields, settings: changed.join(', ') }, 'twostep.ini changed settings that take effect after a restart: the running service keeps their previous values');
      }
    } catch (error) {
      logger.error({ ...fields, cause: (error as Error).message }, 'twostep.ini changed but is invalid: keeping the previous settings');
    }
  };
  readIni(installation.configDir, reload);
}
