import type { Logger } from '../core/context';
import { applyIni, readIni, settingsReadAtOpen, warnOfUnknownSettings, type Installation } from '../installation';

/**
 * Watches twostep.ini (through haraka-config, as the Haraka plugin does) and calls `apply`
 * with the installation's new settings after each valid change: policy, admins, issuer,
 * throttle settings and the passwd file then hold without a restart. An invalid file is logged and the previous
 * settings stay. `[http]` and `[session]` settings still need a restart.
 */
export function watchOptions(installation: Installation, logger: Logger, apply: (updated: Installation) => void): void {
  const reload = (): void => {
    try {
      const ini = readIni(installation.configDir, reload);
      apply(applyIni(installation, ini));
      logger.info({ event: 'config-reload', config_dir: installation.configDir }, 'twostep.ini changed: settings reloaded');
      warnOfUnknownSettings(logger, ini);
      const needRestart = settingsReadAtOpen(installation.ini, ini);
      if (needRestart.length > 0) {
        logger.warn(
          { event: 'config-reload', config_dir: installation.configDir, settings: needRestart.join(', ') },
          'twostep.ini changed settings that take effect after a restart: the running service keeps their previous values',
        );
      }
    } catch (error) {
      logger.error({ event: 'config-reload', config_dir: installation.configDir, cause: (error as Error).message }, 'twostep.ini changed but is invalid: keeping the previous settings');
    }
  };
  readIni(installation.configDir, reload);
}
