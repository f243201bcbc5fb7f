import { constants, readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Watches the system calls a log makes on its file: how many records its
 * writes have put on disk so far. A write to a file opened with `O_DSYNC`
 * is durable once it returns; a plain write only once a `datasync` that
 * began after it has returned.
 */
export class DurabilityProbe {
  /** Records written, in writes that have returned. */
  #written = 0;
  /** Records on disk. */
  #durable = 0;
  readonly #syncOnWrite: boolean;

  constructor(handle: FileHandle) {
    this.#syncOnWrite = opensWithDsync(handle);
    const writev = handle.writev.bind(handle);
    const datasync = handle.datasync.bind(handle);
    handle.writev = async (buffers, position) => {
      const result = await writev(buffers, position);
      this.#written += buffers.length;
      if (this.#syncOnWrite) this.#durable = this.#written;
      return result;
    };
    handle.datasync = async () => {
      const covered = this.#written;
      await datasync();
      this.#durable = Math.max(this.#durable, covered);
    };
  }

  /** How many of the records written so far, in order, are on disk. */
  get durableRecords(): number {
    return this.#durable;
  }
}

/**
 * Whether `handle` was opened with `O_DSYNC`, from Linux's
 * `/proc/self/fdinfo` (its `flags:` line, in octal); false elsewhere.
 */
export function opensWithDsync(handle: FileHandle): boolean {
  if (process.platform !== 'linux' || constants.O_DSYNC === undefined) return false;
  const fdinfo = readFileSync(`/proc/self/fdinfo/${handle.fd}`, 'utf8');
  const flags = /^flags:\s*([0-7]+)$/m.exec(fdinfo)?.[1];
  return flags !== undefined && (parseInt(flags, 8) & constants.O_DSYNC) !== 0;
}
