import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FileTallyStore } from '@medals/core';
import type { FileTallyStoreOptions } from '@medals/core';
import { DurabilityProbe } from './support/durability-probe';
import { temporaryDirectory } from './support/temporary-directory';

let directory: ReturnType<typeof temporaryDirectory>;
const running: FileTallyStore[] = [];

beforeEach(() => {
  directory = temporaryDirectory('file-store-unit');
});

afterEach(async () => {
  for (const store of running.splice(0)) await store.stop();
  directory.remove();
});

async function open(options: Partial<FileTallyStoreOptions> = {}): Promise<FileTallyStore> {
  const store = new FileTallyStore({ directory: directory.path, ...options });
  running.push(store);
  await store.start();
  return store;
}

async function writeGolds(store: FileTallyStore, count: number, prefix = 'w'): Promise<void> {
  for (let i = 0; i < count; i++) await store.incrementMedal('Gaul', 'gold', `${prefix}-${i}`);
}

function segments(): string[] {
  return readdirSync(directory.path)
    .filter((name) => name.endsWith('.wal'))
    .sort();
}

function onlySegment(): string {
  const [segment, ...others] = segments();
  expect(others).toEqual([]);
  return join(directory.path, segment);
}

/** Byte offset of the `index`th record of a log: each is `[length u32][crc32 u32][payload]`. */
function recordOffset(log: Buffer, index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += 8 + log.readUInt32BE(offset);
  return offset;
}

describe('FileTallyStore file modes', () => {
  it('keeps its directory 0700 and its log, snapshot and lock 0600, narrowing what an older version left wider', async () => {
    chmodSync(directory.path, 0o755);
    let store = await open({ compactAfterBytes: 256 });
    await writeGolds(store, 20);
    const modes = (): Record<string, number> =>
      Object.fromEntries(
        readdirSync(directory.path).map((name) => [
          name,
          statSync(join(directory.path, name)).mode & 0o777,
        ]),
      );
    expect(statSync(directory.path).mode & 0o777).toBe(0o700);
    expect(Object.keys(modes())).toEqual(expect.arrayContaining(['snapshot', ...segments()]));
    for (const [name, mode] of Object.entries(modes()))
      expect({ name, mode }).toEqual({ name, mode: 0o600 });
    await store.stop();
    for (const segment of segments()) chmodSync(join(directory.path, segment), 0o644);
    chmodSync(directory.path, 0o755);
    store = await open();
    await writeGolds(store, 1, 'again');
    expect(statSync(directory.path).mode & 0o777).toBe(0o700);
    for (const [name, mode] of Object.entries(modes()))
      expect({ name, mode }).toEqual({ name, mode: 0o600 });
  });
});

describe('FileTallyStore durability', () => {
  it('answers a write, and its retry, only once its record is on disk, concurrent writes sharing syncs', async () => {
    const store = await open();
    const log = (store as unknown as { log: { handle: FileHandle } }).log;
    const probe = new DurabilityProbe(log.handle);
    const answeredEarly: string[] = [];
    /** The write's record is the `index`th of the log: records are appended in call order. */
    const increment = (index: number, operationId: string): Promise<void> =>
      store.incrementMedal('Gaul', 'gold', operationId).then(() => {
        if (index >= probe.durableRecords) answeredEarly.push(operationId);
      });
    const writes = Array.from({ length: 30 }, (_, i) => increment(i, `op-${i}`));
    // A retry of a write not yet on disk waits for it.
    writes.push(increment(0, 'op-0'));
    await Promise.all(writes);
    await Promise.all(Array.from({ length: 10 }, (_, i) => increment(30 + i, `op-${30 + i}`)));
    expect(answeredEarly).toEqual([]);
    expect(probe.durableRecords).toBe(40);
    expect((await store.getMedalTally('Gaul')).gold).toBe(40);
  });
});

describe('FileTallyStore recovery', () => {
  it('cuts off a torn tail and keeps every complete record', async () => {
    let store = await open();
    await writeGolds(store, 10);
    await store.stop();
    const log = onlySegment();
    const intact = statSync(log).size;
    // Half of a record header, then a record whose payload was never written.
    appendFileSync(log, Buffer.from([0, 0, 0]));
    store = await open();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 10 });
    expect(statSync(log).size).toBe(intact);
    await store.incrementMedal('Gaul', 'gold', 'after-recovery');
    await store.stop();
    store = await open();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 11 });
  });

  it('cuts off a tail of zeros, and a last record whose checksum fails', async () => {
    let store = await open();
    await writeGolds(store, 5);
    await store.stop();
    const log = onlySegment();
    const data = readFileSync(log);
    // What a power cut can leave: the file grew but its last blocks were never written.
    appendFileSync(log, Buffer.alloc(4096));
    store = await open();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 5 });
    await store.stop();
    const damaged = Buffer.from(data);
    damaged[damaged.length - 2] ^= 0xff;
    writeFileSync(log, damaged);
    store = await open();
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 4 });
  });

  it('reports a corrupted byte in the middle of the log with StoreCorruptedError', async () => {
    let store = await open();
    await writeGolds(store, 50);
    await store.stop();
    const log = onlySegment();
    const data = readFileSync(log);
    const middle = Math.floor(data.length / 2);
    data[middle] ^= 0x01;
    writeFileSync(log, data);
    store = new FileTallyStore({ directory: directory.path });
    const failure = store.start();
    await expect(failure).rejects.toMatchObject({ name: 'StoreCorruptedError', file: log });
    const error = (await failure.catch((e: unknown) => e)) as { offset: number };
    expect(error.offset).toBeLessThanOrEqual(middle);
    expect(error.offset).toBeGreaterThan(middle - 60);
    // The failed start released the lock and left the damaged log for an operator to inspect.
    expect(existsSync(join(directory.path, 'LOCK'))).toBe(false);
    expect(readFileSync(log)).toEqual(data);
  });

  it('reports a corrupted length field in the middle of the log', async () => {
    let store = await open();
    await writeGolds(store, 50);
    await store.stop();
    const log = onlySegment();
    const data = readFileSync(log);
    const offset = recordOffset(data, 20);
    data.writeUInt32BE(0x00ffffff, offset);
    writeFileSync(log, data);
    store = new FileTallyStore({ directory: directory.path });
    await expect(store.start()).rejects.toMatchObject({
      name: 'StoreCorruptedError',
      code: 'ERR_STORE_CORRUPTED',
      offset,
    });
  });

  it('reports a damaged snapshot with StoreCorruptedError', async () => {
    let store = await open({ compactAfterBytes: 256 });
    await writeGolds(store, 20);
    await store.stop();
    const snapshot = join(directory.path, 'snapshot');
    const data = readFileSync(snapshot);
    data[data.length - 3] ^= 0x20;
    writeFileSync(snapshot, data);
    store = new FileTallyStore({ directory: directory.path });
    await expect(store.start()).rejects.toMatchObject({
      name: 'StoreCorruptedError',
      file: snapshot,
    });
  });

  it('reports a missing log segment with StoreCorruptedError', async () => {
    let store = await open({ compactAfterBytes: 256 });
    await writeGolds(store, 20);
    await store.stop();
    const current = onlySegment();
    // The segment the snapshot points to is gone, a later one is there.
    renameSync(
      current,
      current.replace(/\d{10}/, (g) => String(Number(g) + 1).padStart(10, '0')),
    );
    store = new FileTallyStore({ directory: directory.path });
    await expect(store.start()).rejects.toMatchObject({ name: 'StoreCorruptedError' });
  });

  it('ignores a segment already folded into the snapshot, as after a crash before its deletion', async () => {
    let store = await open({ compactAfterBytes: 1 << 30 });
    await writeGolds(store, 10, 'before');
    await store.stop();
    const [old] = segments();
    const saved = readFileSync(join(directory.path, old));
    store = await open({ compactAfterBytes: 1 });
    await store.incrementMedal('Rome', 'silver', 'compacting');
    await store.stop();
    expect(segments()).not.toContain(old);
    writeFileSync(join(directory.path, old), saved);
    writeFileSync(join(directory.path, 'snapshot.tmp'), 'half a snapshot');
    store = await open();
    await expect(store.listMedalTallies()).resolves.toEqual([
      { team: 'Gaul', gold: 10, silver: 0, bronze: 0 },
      { team: 'Rome', gold: 0, silver: 1, bronze: 0 },
    ]);
    expect(segments()).not.toContain(old);
    expect(existsSync(join(directory.path, 'snapshot.tmp'))).toBe(false);
  });
});

describe('FileTallyStore compaction', () => {
  it('keeps the log bounded and remembers operation ids through snapshots', async () => {
    let store = await open({ compactAfterBytes: 4096 });
    const first = await store.incrementMedal('Gaul', 'gold', 'first');
    await writeGolds(store, 500);
    for (const name of segments()) {
      // A segment is cut once it passes the threshold: at most one batch more.
      expect(statSync(join(directory.path, name)).size).toBeLessThan(4096 + 1024);
    }
    expect(segments().length).toBeLessThanOrEqual(2);
    expect(existsSync(join(directory.path, 'snapshot'))).toBe(true);
    await expect(store.incrementMedal('Gaul', 'gold', 'first')).resolves.toEqual(first);
    await store.stop();
    store = await open({ compactAfterBytes: 4096 });
    await expect(store.incrementMedal('Gaul', 'gold', 'first')).resolves.toEqual(first);
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 501 });
  });

  it('forgets operation ids beyond the retention, oldest first, also across reopens', async () => {
    let store = await open({ compactAfterBytes: 512, idempotencyRetention: 10 });
    await writeGolds(store, 20);
    await store.stop();
    store = await open({ compactAfterBytes: 512, idempotencyRetention: 10 });
    await store.incrementMedal('Gaul', 'gold', 'w-19');
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 20 });
    await store.incrementMedal('Gaul', 'gold', 'w-0');
    await expect(store.getMedalTally('Gaul')).resolves.toMatchObject({ gold: 21 });
  });
});

describe('FileTallyStore lock', () => {
  it('refuses a second store on the same directory until the first stops', async () => {
    const first = await open();
    const second = new FileTallyStore({ directory: directory.path });
    await expect(second.start()).rejects.toMatchObject({
      name: 'StoreLockedError',
      pid: process.pid,
    });
    await first.stop();
    await second.start();
    running.push(second);
    await expect(second.incrementMedal('Gaul', 'gold', 'x')).resolves.toMatchObject({ gold: 1 });
  });

  it('refuses a directory locked by another live process', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    try {
      writeFileSync(join(directory.path, 'LOCK'), `${holder.pid}\n`);
      const store = new FileTallyStore({ directory: directory.path });
      await expect(store.start()).rejects.toMatchObject({
        name: 'StoreLockedError',
        pid: holder.pid,
      });
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died', async () => {
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => dead.on('exit', resolve));
    writeFileSync(join(directory.path, 'LOCK'), `${dead.pid}\n`);
    const store = await open();
    expect(readFileSync(join(directory.path, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await store.stop();
    expect(existsSync(join(directory.path, 'LOCK'))).toBe(false);
  });

  it("takes over a lock bearing this process's pid that no store of this process holds", async () => {
    writeFileSync(join(directory.path, 'LOCK'), `${process.pid}\n`);
    await open();
  });
});

describe('FileTallyStore.clear', () => {
  it('empties the store in a directory, snapshot and segments, leaving other files alone', async () => {
    const store = await open({ compactAfterBytes: 256 });
    await writeGolds(store, 20);
    await store.setScore('Stone Curling', { Gaul: 2, Rome: 1 }, 'score-1');
    await store.stop();
    writeFileSync(join(directory.path, 'notes.txt'), 'mine');
    expect(await FileTallyStore.clear(directory.path)).toBeGreaterThan(1);
    expect(readdirSync(directory.path)).toEqual(['notes.txt']);
    const fresh = await open();
    expect(await fresh.getMedalTally('Gaul')).toEqual({
      team: 'Gaul',
      gold: 0,
      silver: 0,
      bronze: 0,
    });
    expect((await fresh.getScore('Stone Curling')).scores).toEqual({ Gaul: 0, Rome: 0 });
    // An operation id of the cleared store counts anew.
    await fresh.incrementMedal('Gaul', 'gold', 'w-0');
    expect((await fresh.getMedalTally('Gaul')).gold).toBe(1);
  });

  it('refuses to empty a directory a running store holds, changing nothing', async () => {
    const store = await open();
    await writeGolds(store, 3);
    await expect(FileTallyStore.clear(directory.path)).rejects.toMatchObject({
      name: 'StoreLockedError',
    });
    expect((await store.getMedalTally('Gaul')).gold).toBe(3);
    await store.stop();
    await expect((await open()).getMedalTally('Gaul')).resolves.toMatchObject({ gold: 3 });
  });

  it('finds nothing to empty in a directory that does not exist', async () => {
    expect(await FileTallyStore.clear(join(directory.path, 'absent'))).toBe(0);
  });
});
