/**
 * The Olympic medal service of the report (DESIGN.md section 5) as a library:
 * each role of the two-tier system (`db`, `frontend`, `dispatcher`) and the
 * single-tier baseline (`single`) starts in-process with {@link startRole},
 * so the CLI runs one per process and tests run them side by side.
 *
 * @example
 * ```ts
 * import { defaultServiceOptions, startRole, OlympicClient } from '@medals/examples';
 *
 * const options = {
 *   ...defaultServiceOptions,
 *   store: 'memory' as const,
 *   token: 'a secret of Cacofonix',
 *   // The nodes authenticate each other with keys derived from it (or pass `peerKeys`, or `insecure: true`).
 *   secret: 'a long random cluster secret',
 * };
 * // The db and the front-ends know each other's node-to-node addresses from the start.
 * const db = await startRole(
 *   { role: 'db', id: 'db', listen: '127.0.0.1:7000', peers: { fe1: 'tcp://127.0.0.1:7001' } },
 *   options,
 * );
 * const fe = await startRole(
 *   { role: 'frontend', id: 'fe1', listen: '127.0.0.1:7001', http: '127.0.0.1:8001', peers: { db: 'tcp://127.0.0.1:7000' } },
 *   options,
 * );
 * const cacofonix = new OlympicClient({ baseUrl: fe.url!, clientId: 'cacofonix', token: options.token });
 * await cacofonix.incrementMedalTally('Gaul', 'gold');
 * console.log(await cacofonix.getMedalTally('Gaul')); // { team: 'Gaul', gold: 1, silver: 0, bronze: 0 }
 * cacofonix.close();
 * await fe.stop();
 * await db.stop();
 * ```
 */

export * from './service-options';
export type { HttpServerOptions } from './http-server';
export { defaultHttpServerOptions } from './http-server';
export type { RoleEventOptions, RoleEvents } from './role-events';
export { startRole } from './start-role';
export * from './client';
export * from './credentials';
export * from './dispatcher';
export * from './dispatcher-registrar';
export * from './health-checker';
export * from './local-raffle';
export * from './raffle-history';
export * from './olympic-api';
export * from './plugins';
export * from './raffle-drawer';
export * from './registration-auth';
export * from './remote-tally-store';
export * from './tally-protocol';
export * from './tally-store-server';
