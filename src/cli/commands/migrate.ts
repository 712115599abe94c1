import type { Command } from 'commander';
import { isTwoStepError, TwoStepError } from '../../core/errors';
import { openStore } from '../../store';
import { migrateStore } from '../../store/migrate';
import type { CliHelpers } from '../helpers';

export function register(program: Command, helpers: CliHelpers): void {
  const command = program
    .command('migrate')
    .description('copy every record of one store into another; stop the mail front ends first')
    .requiredOption('--from <url>', 'source store: sqlite:///path/store.sqlite or redis://host:port')
    .requiredOption('--to <url>', 'target store: sqlite:///path/store.sqlite or redis://host:port')
    .option('--force', 'copy into a target that already holds records');

  helpers.action<{ from: string; to: string; force?: boolean }>(command, async (session, _args, options) => {
    if (options.from.trim() === '' || options.to.trim() === '') {
      throw new TwoStepError('ERR_INVALID_INPUT', 'missing store URL: give --from URL and --to URL');
    }
    // Relative sqlite:// paths are resolved against the current folder.
    const source = openStore(options.from, process.cwd());
    const target = openStore(options.to, process.cwd());
    try {
      const counts = await migrateStore(source, target, {
        force: options.force,
        onProgress: (progress) => {
          if (!session.globals.json) {
            process.stderr.write(`copied ${progress.values} values, ${progress.steps} step claims, ${progress.counters} counters, ${progress.audit} audit events\r`);
          }
        },
      });
      if (!session.globals.json) {
        process.stderr.write('\n');
      }
      session.output.result(counts, () => `Copied ${counts.values} values, ${counts.steps} step claims, ${counts.counters} counters and ${counts.audit} audit events.`);
    } catch (error) {
      if (isTwoStepError(error, 'ERR_CONFLICT')) {
        throw new TwoStepError('ERR_CONFLICT', `${error.message}; add --force to copy into it anyway`);
      }
      throw error;
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });
}
