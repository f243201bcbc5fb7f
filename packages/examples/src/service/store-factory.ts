import { join } from 'node:path';
import { FileTallyStore, MemoryTallyStore } from '@medals/core';
import type { TallyStore } from '@medals/core';
import type * as PostgresModule from '@medals/store-postgres';
import type { ServiceOptions } from './service-options';
import { FileRaffleArchive } from './raffle-history/file-raffle-archive';
import { MemoryRaffleArchive } from './raffle-history/memory-raffle-archive';
import type { RaffleArchive } from './raffle-history/raffle-archive';

/** Default PostgreSQL connection string when neither `pgUrl` nor `MEDALS_PG_URL` is set. */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The tally store `options.store` names, not started. The PostgreSQL store
 * (and `pg` with it) is loaded only when it is chosen, so the other nodes
 * do not pay for it at start.
 */
export function createTallyStore(options: ServiceOptions): TallyStore {
  const retention =
    options.idempotencyRetention === undefined
      ? {}
      : { idempotencyRetention: options.idempotencyRetention };
  switch (options.store) {
    case 'memory':
      return new MemoryTallyStore(retention);
    case 'file':
      return new FileTallyStore({ directory: options.dataDir, ...retention });
    case 'postgres': {
      // require, not import(): jest runs this file as CommonJS without VM modules.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PostgresTallyStore } = require('@medals/store-postgres') as typeof PostgresModule;
      return new PostgresTallyStore({
        connectionString: options.pgUrl ?? process.env.MEDALS_PG_URL ?? DEFAULT_PG_URL,
        applicationName: 'medals-db',
        ...(options.pgSchema === undefined ? {} : { schema: options.pgSchema }),
        ...retention,
      });
    }
  }
}

/**
 * Where the db keeps the raffle's whole history: with the file store,
 * append-only files in `dataDir/raffle`; with the PostgreSQL store, in
 * `dataDir/raffle-<schema>` (services sharing a database by schema keep
 * apart); both on the db process's own disk. With the memory store, memory,
 * bounded (the memory store is for tests and demos).
 */
export function createRaffleArchive(options: ServiceOptions): RaffleArchive {
  switch (options.store) {
    case 'memory':
      return new MemoryRaffleArchive();
    case 'file':
      return new FileRaffleArchive({ directory: join(options.dataDir, 'raffle') });
    case 'postgres':
      return new FileRaffleArchive({
        directory: join(options.dataDir, `raffle-${options.pgSchema ?? 'public'}`),
      });
  }
}
