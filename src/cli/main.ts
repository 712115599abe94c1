#!/usr/bin/env node
// The `twostep` admin command; the README's "Admin CLI" section is the command reference.
import { runCli } from './program';

/**
 * Exits once stdout and stderr are flushed. The exit is explicit because haraka-config can
 * leave file watchers behind that would keep the process alive.
 */
function exitWhenFlushed(code: number): void {
  const exit = () => process.exit(code);
  // A reader that closed early (`twostep audit | head`) must not turn into a crash.
  process.stdout.on('error', exit);
  process.stdout.write('', () => process.stderr.write('', exit));
}

void runCli(process.argv).then(exitWhenFlushed);
