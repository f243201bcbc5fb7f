import { readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { GroupCommitLog } from '../../src/store/group-commit-log';
import { frameRecord, scanRecords } from '../../src/store/log-record';
import { DurabilityProbe, opensWithDsync } from './support/durability-probe';
import { temporaryDirectory } from './support/temporary-directory';

let directory: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  directory = temporaryDirectory('group-commit');
});
afterEach(() => directory.remove());

async function appendConcurrently(maxBatchRecords: number | undefined, count: number) {
  const batches: number[][] = [];
  const path = join(directory.path, `log-${maxBatchRecords ?? 'default'}`);
  const log = await GroupCommitLog.open<number>(path, {
    maxBatchRecords,
    onDurable: (tags) => batches.push(tags),
  });
  const acknowledged: number[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      log.append(frameRecord(Buffer.from(`record ${i}`)), i).then(() => acknowledged.push(i)),
    ),
  );
  await log.close();
  return { batches, acknowledged, path };
}

it('writes concurrent appends in a few shared syncs, in append order', async () => {
  const { batches, acknowledged, path } = await appendConcurrently(undefined, 200);
  // Appended in one event-loop turn, they share one sync: none goes ahead alone.
  expect(batches.map((b) => b.length)).toEqual([200]);
  expect(batches.flat()).toEqual(Array.from({ length: 200 }, (_, i) => i));
  expect(acknowledged).toEqual(batches.flat());
  const scan = scanRecords(readFileSync(path), path);
  expect(scan.payloads.map(String)).toEqual(Array.from({ length: 200 }, (_, i) => `record ${i}`));
});

it('syncs every record on its own with maxBatchRecords 1', async () => {
  const { batches } = await appendConcurrently(1, 20);
  expect(batches).toEqual(Array.from({ length: 20 }, (_, i) => [i]));
});

it('caps a batch at maxBatchRecords', async () => {
  const { batches } = await appendConcurrently(64, 200);
  expect(batches.map((b) => b.length)).toEqual([64, 64, 64, 8]);
});

function fileOf(log: GroupCommitLog<number>): FileHandle {
  return (log as unknown as { handle: FileHandle }).handle;
}

it('acknowledges no append before the write that puts it on disk has returned, batch after batch', async () => {
  const batches: number[] = [];
  const log = await GroupCommitLog.open<number>(join(directory.path, 'log'), {
    onDurable: (tags) => batches.push(tags.length),
  });
  const probe = new DurabilityProbe(fileOf(log));
  const acknowledgedEarly: number[] = [];
  let appended = 0;
  const append = (): Promise<void> => {
    const index = appended++;
    return log.append(frameRecord(Buffer.from(`record ${index}`)), index).then(() => {
      if (index >= probe.durableRecords) acknowledgedEarly.push(index);
    });
  };
  // 50 appends in one turn, 10 in each of the next turns while they are written,
  // then 20 more from acknowledgements: each of these in a batch of its own.
  const appends = Array.from({ length: 50 }, append);
  for (let turn = 0; turn < 5; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    appends.push(...Array.from({ length: 10 }, append));
  }
  await Promise.all(appends);
  await Promise.all(Array.from({ length: 20 }, () => append().then(append)));
  await log.close();
  expect(appended).toBe(140);
  expect(batches.reduce((sum, size) => sum + size, 0)).toBe(140);
  expect(batches.length).toBeGreaterThanOrEqual(3);
  expect(acknowledgedEarly).toEqual([]);
});

(process.platform === 'linux' ? it : it.skip)(
  'opens every segment with O_DSYNC on Linux, so that a write returns only once it is on disk',
  async () => {
    const log = await GroupCommitLog.open<number>(join(directory.path, 'log-1'));
    expect(opensWithDsync(fileOf(log))).toBe(true);
    await log.rotate(join(directory.path, 'log-2'));
    expect(opensWithDsync(fileOf(log))).toBe(true);
    await log.close();
  },
);

it('refuses appends after an I/O error, with StoreUnavailableError', async () => {
  const path = join(directory.path, 'log');
  const log = await GroupCommitLog.open<number>(path);
  await log.append(frameRecord(Buffer.from('ok')), 0);
  // Closing the file under the log makes its next write fail as a failing disk would.
  await (log as unknown as { handle: { close(): Promise<void> } }).handle.close();
  await expect(log.append(frameRecord(Buffer.from('lost')), 1)).rejects.toMatchObject({
    name: 'StoreUnavailableError',
  });
  await expect(log.append(frameRecord(Buffer.from('refused')), 2)).rejects.toMatchObject({
    name: 'StoreUnavailableError',
  });
  expect(log.failed).toBeDefined();
});
