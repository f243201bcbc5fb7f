import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Makes a directory's entries (files created, renamed or removed in it)
 * durable: on Linux a new file's name is not on disk until its directory is
 * synced.
 */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` atomically and durably: after a crash the file
 * holds either its old content or the new, never a mix. Writes a temporary
 * file, syncs it, renames it over `path`, then syncs the directory.
 */
export async function writeFileDurably(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    // A leftover temporary file keeps its mode under 'w': narrow it.
    await handle.chmod(0o600);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncDirectory(dirname(path));
}
