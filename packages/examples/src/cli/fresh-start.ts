import { resolve } from 'node:path';
import { FileTallyStore } from '@medals/core';
import type * as PostgresModule from '@medals/store-postgres';
import type { ServiceOptions } from '../service';
import { DEFAULT_PG_URL } from '../service/store-factory';
import { UserError } from './user-error';

/** Where a PostgreSQL URL points, without its user or password: for a log line. */
function whereIs(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'MEDALS_PG_URL';
  }
}

/**
 * `medals cluster --fresh`: empties the tallies and scores of the store
 * `options` name before its db starts, after saying what it is about to
 * empty: the file store's files in `--data-dir`, or the PostgreSQL store's
 * tables in `--pg-schema`. The memory store starts empty anyway. A store
 * that cannot be emptied (a running cluster holds the directory, the
 * database does not answer) is a {@link UserError}: nothing starts.
 */
export async function emptyTallies(
  options: ServiceOptions,
  say: (text: string) => void,
): Promise<void> {
  try {
    if (options.store === 'file') {
      const directory = resolve(options.dataDir);
      say(`--fresh: emptying the file store in ${directory}`);
      await FileTallyStore.clear(directory);
    } else if (options.store === 'postgres') {
      const url = options.pgUrl ?? process.env.MEDALS_PG_URL ?? DEFAULT_PG_URL;
      const schema = options.pgSchema ?? 'public';
      say(`--fresh: emptying the tally tables of schema ${schema} at ${whereIs(url)}`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PostgresTallyStore } = require('@medals/store-postgres') as typeof PostgresModule;
      await PostgresTallyStore.clear({
        connectionString: url,
        applicationName: 'medals-fresh',
        schema,
      });
    } else {
      say('--fresh: the memory store starts empty anyway');
    }
  } catch (err) {
    throw new UserError(`--fresh could not empty the store: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
