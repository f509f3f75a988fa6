import { describe, expect, it } from 'vitest';
import { layeredLayout, layeredSvg, MAX_LAYERED_NODES } from '../../src/domain/graph-layers.js';
import { buildPicture } from '../../src/domain/graph-picture.js';
import { buildGraphView, type GraphNode } from '../../src/domain/graph.js';

const T0 = '2025-01-01T00:00:00.000Z';
const id = (n: number): string => `loom-${n.toString(16).padStart(8, '0')}`;

function node(nid: string, depends_on: string[] = [], over: Partial<GraphNode> = {}): GraphNode {
  return { id: nid, title: `title of ${nid}`, status: depends_on.length > 0 ? 'blocked' : 'pending', priority: 'p1', parent_id: null, depends_on, weight: 0, created_at: T0, ...over };
}

/** `chains` chains of `length` tasks each (as bench:dashboard seeds them). */
function chains(chainsOf: number, length: number): GraphNode[] {
  const nodes: GraphNode[] = [];
  for (let c = 0; c < chainsOf; c++) {
    for (let k = 0; k < length; k++) {
      const n = 1 + c * length + k;
      nodes.push(node(id(n), k === 0 ? [] : [id(n - 1)]));
    }
  }
  return nodes;
}

const picture = (nodes: GraphNode[]) => buildPicture(buildGraphView(nodes), { collapse: true });

describe('layeredLayout', () => {
  it('puts each task one column right of its latest dependency, so every edge runs left to right', () => {
    const nodes = [node(id(1)), node(id(2), [id(1)]), node(id(3), [id(1)]), node(id(4), [id(2), id(3)]), node(id(5), [id(1), id(4)])];
    const { placed } = layeredLayout(picture(nodes));
    const x = new Map(placed.map((p) => [p.node.id, p.x]));
    expect(x.get(id(1))).toBeLessThan(x.get(id(2))!);
    expect(x.get(id(2))).toBe(x.get(id(3)));
    expect(x.get(id(4))).toBeGreaterThan(x.get(id(3))!);
    // id 5 waits for 4 (depth 2): column 3, not column 1.
    expect(x.get(id(5))).toBeGreaterThan(x.get(id(4))!);
  });

  it('keeps chains on one row, and places every node once without overlap', () => {
    const { placed } = layeredLayout(picture(chains(30, 10)));
    expect(placed).toHaveLength(300);
    const y = new Map(placed.map((p) => [p.node.id, p.y]));
    for (let c = 0; c < 30; c++) for (let k = 1; k < 10; k++) expect(y.get(id(1 + c * 10 + k))).toBe(y.get(id(1 + c * 10)));
    expect(new Set(placed.map((p) => `${p.x} ${p.y}`)).size).toBe(300);
  });

  it('splits a very long column into side-by-side ones', () => {
    const { placed, width, height } = layeredLayout(picture(Array.from({ length: 1000 }, (_, i) => node(id(i + 1)))));
    expect(new Set(placed.map((p) => p.x)).size).toBe(3);
    expect(height).toBeLessThan(400 * 60);
    expect(width).toBeGreaterThan(0);
  });
});

describe('layeredSvg', () => {
  it('draws a g.node per drawn task, with the status colour, data-status, and the status as its last text', () => {
    const nodes = [
      node(id(1), [], { status: 'done' }),
      node(id(2), [id(1)], { status: 'claimed', assignee: 'alice' }),
      node(id(3), [id(2)], { status: 'blocked', title: 'a <b>"bold"</b> & title', held: true, held_at: T0, hold_reason: 'wait' }),
    ];
    const svg = layeredSvg(picture(nodes));
    expect(svg.startsWith('<?xml')).toBe(true);
    const g = svg.match(/<g id="loom-00000002"[^>]*>.*?<\/g>/)![0];
    expect(g).toContain('class="node task status-claimed');
    expect(g).toContain('data-status="claimed"');
    expect(g).toContain('fill="#fff3bf"');
    expect(g).toMatch(/<text[^>]*>claimed, by alice<\/text><\/g>$/);
    const held = svg.match(/<g id="loom-00000003"[^>]*>/)![0];
    expect(held).toContain('held');
    expect(held).toContain('data-held="true"');
    // User text is escaped, never markup.
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('a &lt;b&gt;&quot;bold&quot;&lt;/b&gt; &amp; title');
  });

  it('marks the critical path: its nodes and one path of its edges', () => {
    const p = picture(chains(2, 4));
    expect(p.critical_path.length).toBe(4);
    const svg = layeredSvg(p);
    for (const t of p.critical_path) expect(svg.match(new RegExp(`<g id="${t}" class="[^"]*"`))![0]).toContain('critical');
    const hot = svg.match(/<path class="edges critical"[^>]*d="([^"]*)"/)![1]!;
    // Three edges on the path, each a curve (or line) and an arrowhead.
    expect(hot.match(/M/g)!.length).toBe(6);
  });

  it('collapses finished epics as every picture does', () => {
    const nodes = [node(id(0xe0), [], { status: 'done', title: 'finished epic' }), ...[1, 2, 3].map((n) => node(id(n), [], { status: 'done', parent_id: id(0xe0) })), node(id(9), [id(3)])];
    const svg = layeredSvg(picture(nodes));
    expect(svg).toContain(`<g id="${id(0xe0)}" class="node task status-done collapsed epic"`);
    expect(svg).not.toContain(`id="${id(1)}"`);
    expect(svg).toContain('3 in finished epics drawn as one node');
  });

  it('lays out 5,000 tasks to a small SVG', () => {
    const svg = layeredSvg(picture(chains(500, 10)));
    expect((svg.match(/<g id="loom-[0-9a-f]{8}"/g) ?? []).length).toBe(5000);
    // Graphviz's SVG of the same graph was 6.7 MB.
    expect(svg.length).toBeLessThan(2_000_000);
  });

  it('refuses a picture past MAX_LAYERED_NODES with GRAPH_TOO_LARGE', () => {
    const p = picture(Array.from({ length: MAX_LAYERED_NODES + 1 }, (_, i) => node(id(i + 1))));
    expect(() => layeredSvg(p)).toThrow(expect.objectContaining({ code: 'GRAPH_TOO_LARGE' }));
  });
});
