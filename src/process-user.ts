import { userInfo } from 'node:os';

/** Returns the name of the user this process runs as, or its uid when it has no name. */
export function processUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}
