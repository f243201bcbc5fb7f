import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEntry } from '@medals/core';
import { diagramModel } from './diagram-model';
import { htmlDiagram } from './html-diagram';
import { svgDiagram } from './svg-diagram';

/**
 * Draws `entries` into `dir` (made if missing) as `diagram.html` (zoom,
 * pan, hover, filters) and `diagram.svg` (static, for documents); returns
 * their paths.
 */
export function writeDiagram(
  dir: string,
  entries: readonly HistoryEntry[],
  title: string,
): { html: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const model = diagramModel(entries, title);
  const html = join(dir, 'diagram.html');
  const svg = join(dir, 'diagram.svg');
  writeFileSync(html, htmlDiagram(model));
  writeFileSync(svg, svgDiagram(model));
  return { html, svg };
}
