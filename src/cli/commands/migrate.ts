import type { Command } from 'commander';
import { formatCount } from '../../core/counts';
import { TwoStepError } from '../../core/errors';
import { migrateStore, type MigrationCounts } from '../../store/migrate';
import { openStore } from '../../store';
import type { CliHelpers } from '../helpers';

/** Names each kind of record copied with its count, such as "1 value" or "0 step claims". */
function describeCounts(counts: Readonly<MigrationCounts>): string[] {
  return [formatCount(counts.values, 'value'), formatCount(counts.steps, 'step claim'), formatCount(counts.counters, 'counter'), formatCount(counts.audit, 'audit event')];
}

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
    // A progress line rewritten in place with \r reads well only on a terminal. In a pipe or a
    // log file the lines would run together, so there only the summary on stdout is printed.
    const showProgress = !session.globals.json && process.stderr.isTTY === true;
    let progressShown = false;
    try {
      const counts = await migrateStore(source, target, {
        force: options.force,
        onProgress: (progress) => {
          if (showProgress) {
            process.stderr.write(`\rcopied ${describeCounts(progress).join(', ')}`);
            progressShown = true;
          }
        },
      });
      if (progressShown) {
        process.stderr.write('\n');
      }
      session.output.result(counts, () => {
        const parts = describeCounts(counts);
        return `Copied ${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}.`;
      });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });
}
