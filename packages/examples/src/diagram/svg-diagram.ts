import type { NodeId } from '@medals/core';
import type { DiagramModel } from './diagram-model';
import { clockOffsetAt, signedMs } from './diagram-model';

/** Options of {@link svgDiagram}. */
export interface SvgDiagramOptions {
  /** Pixels per second of run time. Default: whatever fits the run into about 1,600 px. */
  pxPerSecond?: number;
}

const LANE_GAP = 110;
const TOP = 64;
const LEFT = 90;
const RIGHT = 30;
const TARGET_WIDTH = 1_600;

/** Colours of message types, in the order types first appear sorted by name. */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#8c6d31',
  '#843c39',
  '#7b4173',
  '#3182bd',
];

/** Term bands alternate between these. */
const TERM_FILLS = ['#eef4fb', '#fbf6ea'];

/** Escapes text for XML content and attribute values. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A CSS class name for a message type: the type's characters outside [A-Za-z0-9_-] become `_`. */
export function typeClass(type: string): string {
  return `t-${type.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Fixed-point numbers, so the same model gives the same bytes. */
function n(value: number): string {
  return (Math.round(value * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(3)} s`;
}

/** Every message type in the model with its colour and count, sorted by name. */
export function messageTypes(
  model: DiagramModel,
): { type: string; color: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const m of model.messages) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((type, i) => ({ type, color: PALETTE[i % PALETTE.length]!, count: counts.get(type)! }));
}

/** The mark kinds in the model, sorted, for the filters. */
export function markKinds(model: DiagramModel): string[] {
  return [...new Set(model.marks.map((m) => m.kind))].sort();
}

/**
 * Draws a Lamport (space-time) diagram as a standalone SVG: time runs left
 * to right, one lane per node; messages are arrows between lanes (lost ones
 * end in a cross), multicast deliveries are dots labelled with their
 * position in the total order, terms are bands behind the lanes with their
 * leader, acting leaders a thick stroke on their lane, downtimes a dashed
 * lane, partitions a hatched band. Every element has a `<title>` (what
 * hovering shows, with the node's clock offset then) and `data-` attributes
 * that the HTML page's script reads. No randomness and no dates: the same
 * model gives the same bytes.
 */
export function svgDiagram(model: DiagramModel, options: SvgDiagramOptions = {}): string {
  const spanMs = Math.max(1, model.endMs - model.startMs);
  const pxPerMs = (options.pxPerSecond ?? (TARGET_WIDTH * 1_000) / spanMs) / 1_000;
  const types = messageTypes(model);
  const colorOf = new Map(types.map((t) => [t.type, t.color]));
  const laneY = new Map(model.lanes.map((id, i) => [id, TOP + 30 + i * LANE_GAP]));
  const x = (ms: number): number => LEFT + (ms - model.startMs) * pxPerMs;
  const y = (node: NodeId): number => laneY.get(node) ?? TOP;
  const plotRight = x(model.endMs);
  const width = plotRight + RIGHT;
  const lanesBottom = TOP + 30 + Math.max(0, model.lanes.length - 1) * LANE_GAP + 30;
  const legendRows = Math.ceil(types.length / 4);
  const height = lanesBottom + 40 + legendRows * 18;
  const clockNote = (node: NodeId, at: number): string => {
    const offset = clockOffsetAt(model.clocks[node] ?? [], at);
    return offset === undefined ? '' : `; ${node}'s clock ${signedMs(offset)}`;
  };
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="lamport-diagram" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="system-ui, sans-serif" font-size="11" data-start-ms="${model.startMs}" data-left="${LEFT}" data-px-per-ms="${pxPerMs}">`,
    `<title>${escapeXml(model.title)}</title>`,
    '<defs>',
    '<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#d62728" stroke-width="2" stroke-opacity="0.25"/></pattern>',
    ...types.map(
      (t) =>
        `<marker id="arrow-${typeClass(t.type)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${t.color}"/></marker>`,
    ),
    '</defs>',
    '<style>.msg{stroke-width:1;stroke-opacity:.55;fill:none}.msg.lost{stroke-dasharray:3 2}.lane{stroke:#444;stroke-width:1.2}.down{stroke:#bbb;stroke-width:2;stroke-dasharray:4 4}.acting{stroke-width:5;stroke-opacity:.5;stroke-linecap:round}.dlv{fill:#111}.seq{font-size:8px;fill:#111}.mark{font-size:10px}.tick{stroke:#ddd}</style>',
    `<rect width="${n(width)}" height="${n(height)}" fill="#fff"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${escapeXml(model.title)}</text>`,
  );

  // Terms: a band per term behind the lanes, labelled with its leader.
  out.push('<g class="layer terms">');
  model.terms.forEach((term, i) => {
    const x1 = x(term.from);
    const w = Math.max(0.5, x(term.to) - x1);
    out.push(
      `<g class="term" data-term="${term.term}"><title>${escapeXml(`term ${term.term}: ${term.leader} leads, from ${seconds(term.from)} to ${seconds(term.to)}`)}</title>` +
        `<rect x="${n(x1)}" y="${TOP}" width="${n(w)}" height="${n(lanesBottom - TOP)}" fill="${TERM_FILLS[i % 2]}"/>` +
        `<text x="${n(x1 + 3)}" y="${TOP + 12}" fill="#555">${escapeXml(`term ${term.term} · ${term.leader}`)}</text></g>`,
    );
  });
  out.push('</g>');

  // Time axis.
  const stepMs = niceStep(spanMs);
  out.push('<g class="layer axis">');
  for (let t = Math.ceil(model.startMs / stepMs) * stepMs; t <= model.endMs; t += stepMs) {
    out.push(
      `<line class="tick" x1="${n(x(t))}" y1="${TOP - 6}" x2="${n(x(t))}" y2="${n(lanesBottom)}"/>` +
        `<text x="${n(x(t))}" y="${TOP - 10}" text-anchor="middle" fill="#666">${escapeXml(formatTick(t, stepMs))}</text>`,
    );
  }
  out.push('</g>');

  // Partitions: a hatched band from split to heal.
  out.push('<g class="layer partitions">');
  for (const p of model.partitions) {
    const label = p.groups.map((g) => g.join(',')).join(' | ');
    out.push(
      `<g class="partition"><title>${escapeXml(`partition ${label}, from ${seconds(p.from)} to ${seconds(p.to)}`)}</title>` +
        `<rect x="${n(x(p.from))}" y="${TOP}" width="${n(Math.max(1, x(p.to) - x(p.from)))}" height="${n(lanesBottom - TOP)}" fill="url(#hatch)"/>` +
        `<text x="${n(x(p.from) + 3)}" y="${n(lanesBottom - 4)}" fill="#d62728">${escapeXml(`split ${label}`)}</text></g>`,
    );
  }
  out.push('</g>');

  // Lanes, their downtimes and acting leaders.
  out.push('<g class="layer lanes">');
  for (const node of model.lanes) {
    const ly = y(node);
    out.push(
      `<g class="lane-row" data-node="${escapeXml(node)}"><line class="lane" x1="${LEFT}" y1="${ly}" x2="${n(plotRight)}" y2="${ly}"/>` +
        `<text x="${LEFT - 8}" y="${ly + 4}" text-anchor="end" font-weight="bold">${escapeXml(node)}</text>` +
        // Where hovering the lane itself tells the node's clock offset then (diagram.html).
        `<rect class="lane-hit" data-node="${escapeXml(node)}" x="${LEFT}" y="${ly - 12}" width="${n(plotRight - LEFT)}" height="24" fill="transparent"/></g>`,
    );
  }
  for (const d of model.downtimes) {
    out.push(
      `<g class="downtime"><title>${escapeXml(`${d.node} down from ${seconds(d.from)} to ${seconds(d.to)}`)}</title>` +
        `<rect x="${n(x(d.from))}" y="${y(d.node) - 4}" width="${n(Math.max(1, x(d.to) - x(d.from)))}" height="8" fill="#fff"/>` +
        `<line class="down" x1="${n(x(d.from))}" y1="${y(d.node)}" x2="${n(x(d.to))}" y2="${y(d.node)}"/></g>`,
    );
  }
  for (const a of model.acting) {
    out.push(
      `<line class="acting" stroke="#2ca02c" x1="${n(x(a.from))}" y1="${y(a.node)}" x2="${n(x(a.to))}" y2="${y(a.node)}"><title>${escapeXml(`${a.node} acts as leader of term ${a.term} from ${seconds(a.from)} to ${seconds(a.to)}`)}</title></line>`,
    );
  }
  out.push('</g>');

  // Messages: arrows from the sender's lane at sending to the receiver's at arrival.
  out.push('<g class="layer messages">');
  for (const m of model.messages) {
    const cls = typeClass(m.type);
    const x1 = x(m.sentAt);
    const y1 = y(m.from);
    const tip = `${m.type}: ${m.from} → ${m.to}, sent ${seconds(m.sentAt)}, ${m.lost ? `lost (${m.lost}) at` : 'arrived'} ${seconds(m.at)}`;
    if (m.lost) {
      // A lost message stops halfway, where a cross marks it.
      const x2 = (x1 + x(m.at)) / 2 + 2;
      const y2 = (y1 + y(m.to)) / 2;
      out.push(
        `<g class="msg-g ${cls}" data-type="${escapeXml(m.type)}"><title>${escapeXml(tip)}</title>` +
          `<line class="msg lost" stroke="${colorOf.get(m.type)}" x1="${n(x1)}" y1="${y1}" x2="${n(x2)}" y2="${n(y2)}"/>` +
          `<text x="${n(x2)}" y="${n(y2 + 3)}" text-anchor="middle" fill="#d62728" font-size="9">✕</text></g>`,
      );
    } else {
      out.push(
        `<line class="msg msg-g ${cls}" data-type="${escapeXml(m.type)}" stroke="${colorOf.get(m.type)}" marker-end="url(#arrow-${cls})" x1="${n(x1)}" y1="${y1}" x2="${n(x(m.at))}" y2="${y(m.to)}"><title>${escapeXml(tip)}</title></line>`,
      );
    }
  }
  out.push('</g>');

  // Other marks: elections, clock corrections, raffle, requests, faults, membership.
  out.push('<g class="layer marks">');
  for (const mark of model.marks) {
    const mx = n(x(mark.at));
    const my = y(mark.node);
    const tip = escapeXml(`${mark.tip} at ${seconds(mark.at)}${clockNote(mark.node, mark.at)}`);
    const shape = markShape(mark.kind, mx, my);
    const label =
      mark.label === undefined
        ? ''
        : `<text class="mark" x="${mx}" y="${my - 9}" text-anchor="middle">${escapeXml(mark.label)}</text>`;
    out.push(
      `<g class="mark-g k-${mark.kind}" data-kind="${mark.kind}"><title>${tip}</title>${shape}${label}</g>`,
    );
  }
  out.push('</g>');

  // Deliveries: a dot on the lane, labelled with the position in the total order.
  out.push('<g class="layer deliveries">');
  for (const d of model.deliveries) {
    const dx = n(x(d.at));
    const dy = y(d.node);
    const tip = escapeXml(
      `${d.node} delivers ${d.id} at position ${d.seq} of the total order, ${seconds(d.at)}${clockNote(d.node, d.at)}`,
    );
    out.push(
      `<g class="dlv-g" data-node="${escapeXml(d.node)}" data-seq="${d.seq}" data-id="${escapeXml(d.id)}"><title>${tip}</title>` +
        `<circle class="dlv" cx="${dx}" cy="${dy}" r="2.5"/><text class="seq" x="${dx}" y="${dy + 12}" text-anchor="middle">${d.seq}</text></g>`,
    );
  }
  out.push('</g>');

  // Legend: message types with their colours and counts.
  out.push('<g class="legend">');
  types.forEach((t, i) => {
    const lx = LEFT + (i % 4) * 260;
    const ly = lanesBottom + 30 + Math.floor(i / 4) * 18;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${t.color}" stroke-width="2"/>` +
        `<text x="${lx + 30}" y="${ly}">${escapeXml(`${t.type} (${t.count})`)}</text>`,
    );
  });
  out.push('</g>', '</svg>', '');
  return out.join('\n');
}

function markShape(kind: string, x: string, y: number): string {
  switch (kind) {
    case 'election':
      return `<path d="M${x} ${y - 5}l5 5l-5 5l-5 -5z" fill="#9467bd"/>`;
    case 'clock':
      return `<line x1="${x}" y1="${y - 7}" x2="${x}" y2="${y + 7}" stroke="#17becf" stroke-width="2"/>`;
    case 'raffle':
      return `<circle cx="${x}" cy="${y}" r="4" fill="#ff7f0e"/>`;
    case 'request':
      return `<line x1="${x}" y1="${y + 3}" x2="${x}" y2="${y + 8}" stroke="#999"/>`;
    case 'fault':
      return `<circle cx="${x}" cy="${y}" r="6" fill="#d62728" fill-opacity="0.8"/>`;
    default:
      return `<rect x="${x}" y="${y - 3}" width="6" height="6" fill="#8c564b"/>`;
  }
}

/** A tick step of 1, 2 or 5 × 10^k ms giving about ten ticks. */
function niceStep(spanMs: number): number {
  const raw = spanMs / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * power).find((step) => step >= raw) ?? raw;
}

function formatTick(ms: number, stepMs: number): string {
  return stepMs >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
}
