import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The compiled form of one of the package's process entry points, such as
 * `load-worker.js`, by its path from the source root. This file sits at
 * the root of the compiled tree (`dist`, or the bench's build), where the
 * entry is beside it; run from the TypeScript sources (jest), the
 * package's built one in `dist` is used.
 *
 * @throws Error if the package is not built
 */
export function compiledScript(relativePath: string): string {
  const candidates = [join(__dirname, relativePath), join(__dirname, '..', 'dist', relativePath)];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new Error(
      `${relativePath} is not built (looked for ${candidates.join(' and ')}): run \`npm run build\``,
    );
  }
  return found;
}
