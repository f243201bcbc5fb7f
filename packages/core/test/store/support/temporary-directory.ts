import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp folder, and a way to remove it. */
export function temporaryDirectory(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `medals-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
