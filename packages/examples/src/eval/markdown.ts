/** A markdown table; cells are escaped for pipes. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cell = (value: string | number): string => String(value).replace(/\|/g, '\\|');
  const line = (cells: readonly (string | number)[]): string =>
    `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}
