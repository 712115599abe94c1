/**
 * Formats a count with its noun in the singular or plural, such as "1 device" or
 * "0 app passwords". The plural defaults to the singular with "s" appended.
 */
export function formatCount(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
