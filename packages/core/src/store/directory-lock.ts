import { link, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreLockedError } from '../contracts';

// Lock files held by this process: its own pid in a lock file is stale unless listed here
// (a container restarts its main process with the same pid).
const heldByThisProcess = new Set<string>();
let attempts = 0;

/**
 * An exclusive lock on a directory, so two processes (or two stores in one
 * process) never write the same files. The lock is a file holding the
 * owner's pid; it is created atomically with `link(2)`, so it never exists
 * without its pid. A lock whose pid is no longer running is stale and is
 * taken over. A dead owner whose pid was since reused by an unrelated live
 * process cannot be told apart: the error names the file to remove by hand.
 */
export class DirectoryLock {
  private released = false;

  private constructor(
    /** Path of the lock file. */
    readonly path: string,
  ) {}

  /** Takes the lock of `directory`; throws `StoreLockedError` if a live process holds it. */
  static async acquire(directory: string, fileName = 'LOCK'): Promise<DirectoryLock> {
    const path = join(directory, fileName);
    const candidate = `${path}.${process.pid}-${++attempts}.new`;
    await writeFile(candidate, `${process.pid}\n`, { mode: 0o600 });
    try {
      for (;;) {
        try {
          await link(candidate, path);
          heldByThisProcess.add(path);
          await removeLeftovers(directory, fileName);
          return new DirectoryLock(path);
        } catch (error) {
          if (!isErrno(error, 'EEXIST')) throw error;
        }
        const holder = await readPid(path);
        if (holder === undefined) continue;
        if (isLive(path, holder)) {
          throw new StoreLockedError(
            `${directory} is locked by process ${holder}; if that process is not a medals store, remove ${path}`,
            holder,
          );
        }
        await takeOverStale(path, holder);
      }
    } finally {
      await unlink(candidate).catch(() => undefined);
    }
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldByThisProcess.delete(this.path);
    if ((await readPid(this.path)) === process.pid) await unlink(this.path);
  }
}

/** Moves a stale lock aside, checking that what was moved is the stale one and not a fresh lock. */
async function takeOverStale(path: string, stalePid: number): Promise<void> {
  const aside = `${path}.${process.pid}-${++attempts}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  const moved = await readPid(aside);
  if (moved !== stalePid && moved !== undefined) {
    // Another process took the stale lock over between our read and our rename: give it back.
    await link(aside, path).catch(() => undefined);
    await unlink(aside);
    throw new StoreLockedError(`${path} was taken by process ${moved}`, moved);
  }
  await unlink(aside);
}

/** Removes the candidate and stale files of lock attempts by processes that died halfway. */
async function removeLeftovers(directory: string, fileName: string): Promise<void> {
  const pattern = new RegExp(`^${fileName.replace(/[^\w]/g, '\\$&')}\\.(\\d+)-\\d+\\.(new|stale)$`);
  for (const name of await readdir(directory)) {
    const pid = pattern.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isRunning(Number(pid))) {
      await unlink(join(directory, name)).catch(() => undefined);
    }
  }
}

/** The pid in a lock file; undefined if it vanished. A garbled file counts as a dead owner. */
async function readPid(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

function isLive(path: string, pid: number): boolean {
  if (pid === 0) return false;
  if (pid === process.pid) return heldByThisProcess.has(path);
  return isRunning(pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return isErrno(error, 'EPERM');
  }
}

// Not `instanceof Error`: errors from Node's own modules come from another realm under jest.
function isErrno(error: unknown, code: string): boolean {
  return (
    typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code
  );
}
