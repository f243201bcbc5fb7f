import { UsageError } from './usage-error';

/**
 * Parses `id=address,id=address` (the form of `--peers` and `--front-ends`)
 * into a record. Ids are the service's node ids; addresses are kept as given.
 */
export function parseAddressList(flag: string, text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const item of text.split(',')) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    const id = equals > 0 ? trimmed.slice(0, equals) : '';
    const address = equals > 0 ? trimmed.slice(equals + 1) : '';
    if (!/^[\w.-]{1,64}$/.test(id) || address === '') {
      throw new UsageError(
        `${flag}: expected id=address[,id=address…], got ${JSON.stringify(item)}`,
      );
    }
    if (id in entries) throw new UsageError(`${flag}: ${id} is named twice`);
    entries[id] = address;
  }
  return entries;
}

/** The inverse of {@link parseAddressList}. */
export function formatAddressList(entries: Readonly<Record<string, string>>): string {
  return Object.entries(entries)
    .map(([id, address]) => `${id}=${address}`)
    .join(',');
}
