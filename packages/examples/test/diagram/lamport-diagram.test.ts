import { diagramModel, htmlDiagram, svgDiagram } from '../../src/diagram';
import { fixedHistory } from './fixed-history';

/** The attributes of every element of `svg` whose opening tag matches `pattern`. */
function elements(svg: string, pattern: RegExp): Record<string, string>[] {
  return [
    ...svg.matchAll(new RegExp(`<(?:line|g|circle)\\b[^>]*${pattern.source}[^>]*>`, 'g')),
  ].map(([tag]) =>
    Object.fromEntries([...tag.matchAll(/([a-z-]+\d?)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
  );
}

describe('the Lamport diagram of a fixed history', () => {
  const model = diagramModel(fixedHistory(), 'fixed');
  // 1 px per ms: lane x = 90 + ms; lanes 110 px apart from y = 94.
  const svg = svgDiagram(model, { pxPerSecond: 1_000 });
  const laneY = { db: 94, fe1: 204, fe2: 314 };

  it('has one lane per node, the db first, and none for the simulator', () => {
    expect(model.lanes).toEqual(['db', 'fe1', 'fe2']);
    const lanes = elements(svg, /class="lane-row"/).map((attrs) => attrs['data-node']);
    expect(lanes).toEqual(['db', 'fe1', 'fe2']);
    for (const [node, y] of Object.entries(laneY)) {
      expect(svg).toContain(
        `<g class="lane-row" data-node="${node}"><line class="lane" x1="90" y1="${y}"`,
      );
    }
  });

  it('draws each message as an arrow from the sender lane at sending to the receiver lane at arrival', () => {
    const arrows = elements(svg, /class="msg msg-g/);
    expect(arrows).toHaveLength(2);
    expect(arrows[0]).toMatchObject({
      'data-type': 'sequencer.submit',
      x1: '210',
      y1: String(laneY.fe1),
      x2: '220',
      y2: String(laneY.db),
    });
    expect(arrows[1]).toMatchObject({
      'data-type': 'sequencer.order',
      x1: '230',
      y1: String(laneY.db),
      x2: '240',
      y2: String(laneY.fe2),
    });
    // The lost one stops halfway, dashed, with a cross.
    expect(elements(svg, /class="msg lost"/)).toEqual([
      expect.objectContaining({
        x1: '230',
        y1: String(laneY.db),
        x2: '237',
        y2: String((laneY.db + laneY.fe1) / 2),
      }),
    ]);
  });

  it('puts each delivery on its node lane at its time, labelled with its position in the total order', () => {
    const deliveries = [
      ...svg.matchAll(
        /<g class="dlv-g" data-node="(\w+)" data-seq="(\d+)"[^>]*><title>([^<]*)<\/title><circle class="dlv" cx="([\d.]+)" cy="(\d+)" r="2.5"\/><text[^>]*>(\d+)<\/text>/g,
      ),
    ];
    expect(
      deliveries.map(([, node, seq, , cx, cy, label]) => ({ node, seq, cx, cy, label })),
    ).toEqual([
      { node: 'fe2', seq: '1', cx: '250', cy: String(laneY.fe2), label: '1' },
      { node: 'fe1', seq: '1', cx: '260', cy: String(laneY.fe1), label: '1' },
      { node: 'fe2', seq: '2', cx: '270', cy: String(laneY.fe2), label: '2' },
      { node: 'fe1', seq: '2', cx: '280', cy: String(laneY.fe1), label: '2' },
    ]);
    // Hovering names the position and the node's clock then: +20 ms before the correction at 200 ms.
    expect(deliveries[1]![3]).toBe(
      'fe1 delivers fe1:1 at position 1 of the total order, 0.170 s; fe1&#39;s clock +20.0 ms',
    );
  });

  it('shows terms as bands, the acting leader, the downtime, the partition and the clock correction', () => {
    expect(model.terms).toEqual([
      { term: 1, leader: 'db', from: 100, to: 750 },
      { term: 2, leader: 'fe2', from: 750, to: 1_000 },
    ]);
    expect(model.acting).toEqual([{ node: 'db', term: 1, from: 100, to: 700 }]);
    expect(model.downtimes).toEqual([{ node: 'fe2', from: 300, to: 500 }]);
    expect(model.partitions).toEqual([{ groups: [['fe1'], ['db', 'fe2']], from: 600, to: 800 }]);
    expect(svg).toContain('<text x="193" y="76" fill="#555">term 1 · db</text>');
    expect(svg).toContain('split fe1 | db,fe2');
    expect(svg).toContain('fe2 crashed at 0.300 s');
    expect(svg).toContain(
      'fe1&#39;s clock corrected by -19.0 ms (step, round 1 of db) at 0.200 s; fe1&#39;s clock +1.0 ms',
    );
  });

  it('gives the same bytes for the same history, and an HTML page with filters per message type', () => {
    expect(svgDiagram(diagramModel(fixedHistory(), 'fixed'), { pxPerSecond: 1_000 })).toBe(svg);
    const html = htmlDiagram(model);
    expect(html).toContain('data-filter=".t-sequencer_order"');
    expect(html).toContain('data-filter=".t-sequencer_submit"');
    expect(html).toContain('data-filter=".dlv-g"');
    expect(html).not.toMatch(/<script[^>]+src=|<link|https?:\/\/(?!www\.w3\.org)/);
  });

  it('escapes node ids and types from a recording', () => {
    const hostile = diagramModel([
      {
        at: 0,
        node: '<b>x</b>',
        event: 'delivered',
        data: { seq: 1, sender: 'a', id: 'a:1"><script>' },
      },
    ]);
    const out = htmlDiagram(hostile);
    expect(out).toContain('data-node="&lt;b&gt;x&lt;/b&gt;"');
    expect(out).toContain('data-id="a:1&quot;&gt;&lt;script&gt;"');
    // The page's own scripts (its code and the clocks' JSON) are the only ones.
    expect(out.match(/<script/g)).toHaveLength(2);
    expect(out).not.toContain('<b>');
  });
});
