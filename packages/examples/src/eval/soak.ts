import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '@medals/loadgen';
import type { LoadResult } from '@medals/loadgen';
import { frontEndIds, launchCluster } from '../cli/launch-cluster';
import { NodeProcessGroup } from '../cli/node-process-group';
import type { ServiceOptions } from '../service';
import { MemorySampler } from './memory-sampler';
import { olympicRequests } from './olympic-load';
import type { SoakResult, UnexpectedExit } from './soak-report';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** The service's options; `token` must be set. A file store gets a fresh directory (see `dataDir`). */
  readonly options: ServiceOptions;
  /** How long the load runs, in ms. */
  readonly durationMs: number;
  /** Requests per second, open loop, across both front-ends. */
  readonly rate: number;
  /** Time between two rounds of memory readings, in ms. Default 5,000. */
  readonly sampleEveryMs?: number;
  /** Readings before this, in ms from the start, are left out of the growth figures. Default: a fifth of the run. */
  readonly warmUpMs?: number;
  /** Front-ends. Default 2. */
  readonly frontEnds?: number;
  /** Keep-alive connections of the load, spread over the front-ends. Default 20. */
  readonly connections?: number;
  /**
   * The file store's directory. Default: a fresh temporary one, removed
   * after the run (a soak must not start on an earlier run's data).
   */
  readonly dataDir?: string;
  /** Prints a progress line. */
  readonly progress?: (line: string) => void;
}

/**
 * A soak run: starts the Olympic cluster (db, front-ends, dispatcher, one
 * process each, as `medals cluster` does, each able to run a full garbage
 * collection when its launcher asks), drives the front-ends at a fixed
 * rate from `@medals/loadgen` (open loop, half increments with unique
 * idempotency keys, half `getScore`), and reads every node's RSS and heap
 * after GC every `sampleEveryMs` meanwhile. The load's errors and any node
 * that dies are recorded, not thrown: the report says what happened.
 */
export async function runSoak(soak: SoakOptions): Promise<SoakResult> {
  if (!(soak.durationMs > 0)) throw new RangeError('durationMs must be a positive number of ms');
  if (!(soak.rate > 0))
    throw new RangeError('rate must be a positive number of requests per second');
  const sampleEveryMs = soak.sampleEveryMs ?? 5_000;
  const frontEnds = soak.frontEnds ?? 2;
  const connections = soak.connections ?? 20;
  const warmUpMs = soak.warmUpMs ?? soak.durationMs / 5;
  const progress = soak.progress ?? ((): void => undefined);
  const temporaryDir =
    soak.options.store === 'file' && soak.dataDir === undefined
      ? mkdtempSync(join(tmpdir(), 'medals-soak-'))
      : undefined;
  const options: ServiceOptions = {
    ...soak.options,
    dataDir: soak.dataDir ?? temporaryDir ?? soak.options.dataDir,
  };
  const group = new NodeProcessGroup({ exposeGc: true });
  const exits: UnexpectedExit[] = [];
  let startedAt = Date.now();
  group.on('exit', (node, exit) => {
    if (!exit.expected) {
      exits.push({ node, atMs: Date.now() - startedAt, code: exit.code, signal: exit.signal });
    }
  });
  try {
    progress(
      `starting the db, ${frontEnds} front-ends and the dispatcher (${options.store} store)`,
    );
    const cluster = await launchCluster({ frontEnds, options }, group);
    try {
      const nodes = ['db', ...frontEndIds(frontEnds), 'dispatcher'];
      const sampler = new MemorySampler(group, { nodes, everyMs: sampleEveryMs });
      progress(
        `open loop at ${soak.rate} req/s for ${(soak.durationMs / 1000).toFixed(0)} s, ` +
          `memory of ${nodes.join(', ')} every ${(sampleEveryMs / 1000).toFixed(1)} s`,
      );
      startedAt = Date.now();
      sampler.start();
      const report = setInterval(() => {
        const atMs = sampler.samples.at(-1)?.atMs;
        const latest = nodes.flatMap((node) =>
          sampler.samples.filter((s) => s.atMs === atMs && s.node === node),
        );
        progress(
          `${((Date.now() - startedAt) / 1000).toFixed(0)} s: ` +
            latest.map((s) => `${s.node} heap ${(s.heapUsedBytes / 1e6).toFixed(1)} MB`).join(', '),
        );
      }, 60_000);
      let load: LoadResult;
      try {
        load = await runLoad({
          url: cluster.frontEnds.map((fe) => fe.url ?? ''),
          requests: olympicRequests(options.token),
          mode: 'open',
          rate: soak.rate,
          connections,
          durationMs: soak.durationMs,
        });
      } finally {
        clearInterval(report);
        await sampler.stop();
      }
      return {
        setup: {
          // The report is published: no credential goes into it.
          options: {
            ...options,
            token: '',
            secret: undefined,
            peerKeys: undefined,
            pgUrl: undefined,
          },
          frontEnds,
          rate: soak.rate,
          connections,
          durationMs: soak.durationMs,
          sampleEveryMs,
          warmUpMs,
        },
        nodes,
        load,
        samples: sampler.samples,
        missed: sampler.missed,
        exits,
      };
    } finally {
      await cluster.stop();
    }
  } finally {
    if (temporaryDir !== undefined) rmSync(temporaryDir, { recursive: true, force: true });
  }
}
