/**
 * How much one list answer (events, an inbox) may carry. The caller pages on
 * with `since` from the last item it got, so a cut answer loses nothing.
 */
export const LIST_REPLY_BYTES = 4 * 1024 * 1024;

/** The longest prefix of `items` whose JSON fits in `budget` bytes (always the first item, so paging moves on). */
export function withinBytes<T>(items: readonly T[], budget = LIST_REPLY_BYTES): T[] {
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    used += Buffer.byteLength(JSON.stringify(items[i]), 'utf8') + 1;
    if (used > budget && i > 0) return items.slice(0, i);
  }
  return [...items];
}
