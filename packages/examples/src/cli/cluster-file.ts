import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { UserError } from './user-error';

/** Where `medals cluster` writes its cluster file, relative to the working directory. */
export const defaultClusterFile = '.medals/cluster.json';

/**
 * `.medals/cluster.json`: where a running cluster's nodes are, for the
 * clients, the tests and the operator (DESIGN.md section 5). Written once
 * every node is ready, readable by its owner only since it holds the token,
 * and removed when the cluster stops.
 */
export const clusterFileSchema = z.object({
  /** The dispatcher's REST base URL. */
  dispatcher: z.string(),
  /** The dispatcher's process id (its current incarnation's). */
  dispatcherPid: z.number().int(),
  frontEnds: z.array(z.object({ id: z.string(), url: z.string(), pid: z.number().int() })),
  db: z.object({ id: z.string(), address: z.string(), pid: z.number().int() }),
  /** The launcher's process id. */
  launcherPid: z.number().int(),
  /** Cacofonix's token, which authorises writes. */
  cacofonixToken: z.string(),
});

/** The content of a cluster file. */
export type ClusterFile = z.infer<typeof clusterFileSchema>;

/**
 * Writes `content` to `file`, readable and writable by the owner only, in
 * its directory (made 0700 if missing). The file is replaced atomically (a
 * temporary file renamed over it), so a reader sees the old content or the
 * new, never a part; the launcher rewrites it whenever a node restarts.
 */
export function writeClusterFile(file: string, content: ClusterFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Our own `.medals/` is narrowed even if an older version made it 0755; another directory is the user's.
  if (basename(dirname(file)) === '.medals') chmodSync(dirname(file), 0o700);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    // Removed first: a leftover of a crashed launcher might have a wider mode, which `mode` would not narrow.
    rmSync(temporary, { force: true });
    writeFileSync(temporary, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

/** Reads and checks a cluster file; throws with the file's name if it is missing or malformed. */
export function readClusterFile(file: string): ClusterFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(
      `no cluster file at ${file}: start one with \`medals cluster\`, or pass --dispatcher`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not JSON`);
  }
  const parsed = clusterFileSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${file} is not a cluster file: ${parsed.error.message}`);
  return parsed.data;
}

/** Removes the cluster file if it is there. */
export function removeClusterFile(file: string): void {
  rmSync(file, { force: true });
}
