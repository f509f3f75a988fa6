import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import { clip, dotString, toDot } from '../../src/domain/graph-dot.js';
import { assertDrawable, buildPicture, isEpicNode, MAX_PICTURE_NODES, subtreeView } from '../../src/domain/graph-picture.js';
import { buildGraphView, type GraphNode } from '../../src/domain/graph.js';

const T0 = '2025-01-01T00:00:00.000Z';
const id = (n: number): string => `loom-${n.toString(16).padStart(8, '0')}`;

function node(nid: string, depends_on: string[] = [], over: Partial<GraphNode> = {}): GraphNode {
  return { id: nid, title: `title of ${nid}`, status: depends_on.length > 0 ? 'blocked' : 'pending', priority: 'p1', parent_id: null, depends_on, weight: 0, created_at: T0, ...over };
}

const EPIC = id(0xe0);
const INNER = id(0xe1);
const [A, B, C, D, X, Y] = [id(0xa), id(0xb), id(0xc), id(0xd), id(0x1), id(0x2)];

/** A finished epic (with a finished epic inside) that open work depends on, then a chain of open work. */
const project = (): GraphNode[] => [
  node(EPIC, [], { status: 'done', title: 'finished epic' }),
  node(INNER, [], { status: 'done', parent_id: EPIC }),
  node(A, [], { status: 'done', parent_id: INNER }),
  node(B, [A], { status: 'done', parent_id: EPIC }),
  node(C, [B], { status: 'pending' }),
  node(D, [C], { status: 'blocked' }),
  node(X, [C], { status: 'blocked' }),
  node(Y, [D], { status: 'blocked', held: true, hold_reason: 'legal', held_at: T0 }),
];

describe('dotString', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash \\N \\G', '"back\\\\slash \\\\N \\\\G"'],
    ['two\nlines\r\nthree\rfour', '"two\\nlines\\nthree\\nfour"'],
    ['tab\there\u0001\u007f\u202eevil', '"tab here   evil"'],
    ['lone \ud800 surrogate', '"lone \ufffd surrogate"'],
    ['ünïcödé 🚀 中文', '"ünïcödé 🚀 中文"'],
  ])('%j', (input, expected) => {
    expect(dotString(input)).toBe(expected);
  });

  it('clips by code point, never through a surrogate pair', () => {
    expect(clip('🚀'.repeat(50), 5)).toBe('🚀🚀🚀🚀…');
    expect(clip('short', 40)).toBe('short');
  });
});

describe('buildPicture', () => {
  it('collapses the outermost finished epic into one node and routes its edges to it', () => {
    const p = buildPicture(buildGraphView(project()), { collapse: true });
    expect(p.nodes.map((n) => n.id).sort()).toEqual([C, D, EPIC, X, Y].sort());
    expect(p.nodes.find((n) => n.id === EPIC)).toMatchObject({ collapsed: 3, epic: true });
    expect(p.edges).toContainEqual([C, EPIC]); // C waited for B, inside the epic
    expect(p.tasks).toBe(8);
    expect(p.collapsed_tasks).toBe(3);
  });

  it('draws every task with collapse off, and never collapses an epic with open work below it', () => {
    expect(buildPicture(buildGraphView(project()), { collapse: false }).nodes).toHaveLength(8);
    const open = project().map((n) => (n.id === A ? { ...n, status: 'pending' as const } : n));
    const p = buildPicture(buildGraphView(open), { collapse: true });
    // The outer epic holds open work; the inner one too: nothing collapses.
    expect(p.nodes.every((n) => n.collapsed === null)).toBe(true);
    expect(p.nodes).toHaveLength(8);
  });

  it('marks the longest chain of open work as the critical path', () => {
    const p = buildPicture(buildGraphView(project()), { collapse: true });
    expect(p.critical_path).toEqual([C, D, Y]);
    expect(p.nodes.filter((n) => n.critical).map((n) => n.id).sort()).toEqual([C, D, Y].sort());
  });

  it('goes through open epics: a task waiting for an epic waits for its children', () => {
    const nodes = [
      node(EPIC, [], { status: 'epic' }),
      node(A, [], { status: 'pending', parent_id: EPIC }),
      node(B, [A], { status: 'blocked', parent_id: EPIC }),
      node(C, [EPIC], { status: 'blocked' }),
      node(X, [], { status: 'pending' }),
    ];
    expect(buildPicture(buildGraphView(nodes), { collapse: true }).critical_path).toEqual([A, B, C]);
  });

  it('has no critical path without a chain of two open tasks', () => {
    const nodes = [node(A, [], { status: 'pending' }), node(B, [], { status: 'claimed' }), node(C, [A], { status: 'done' })];
    expect(buildPicture(buildGraphView(nodes), { collapse: true }).critical_path).toEqual([]);
  });

  it('walks a 20,000-task chain without recursion', () => {
    const nodes = Array.from({ length: 20_000 }, (_, i) => node(id(i + 1), i === 0 ? [] : [id(i)], { status: i === 0 ? 'pending' : 'blocked' }));
    const p = buildPicture(buildGraphView(nodes), { collapse: true });
    expect(p.critical_path).toHaveLength(20_000);
  });

  it('keeps held tasks held, with the reason, and never carries a lease token', () => {
    const p = buildPicture(buildGraphView(project()), { collapse: true });
    expect(p.nodes.find((n) => n.id === Y)).toMatchObject({ held: true, hold_reason: 'legal', held_at: T0 });
    expect(JSON.stringify(p)).not.toMatch(/lease_token/);
  });
});

describe('subtreeView', () => {
  it('keeps an epic and everything below it, and edges inside', () => {
    const nodes = [...project(), node(id(0x77), [], { parent_id: INNER, status: 'pending' })];
    const view = subtreeView(buildGraphView(nodes), INNER);
    expect(view.nodes.map((n) => n.id).sort()).toEqual([INNER, A, id(0x77)].sort());
    expect(view.edges).toEqual([]);
    expect(view.waves).toEqual([[id(0x77)]]);
    expect(isEpicNode(buildGraphView(nodes), INNER)).toBe(true);
    expect(isEpicNode(buildGraphView(nodes), C)).toBe(false);
  });
});

describe('toDot', () => {
  it('escapes titles, marks held and critical nodes, draws epics as clusters', () => {
    const nodes = [
      node(EPIC, [], { status: 'epic', title: 'An "epic" \\ with\nnewline' }),
      node(A, [], { status: 'claimed', parent_id: EPIC, title: '</script><b>x</b>', assignee: 'alice' }),
      node(B, [A], { status: 'blocked', parent_id: EPIC, held: true, hold_reason: 'wait' }),
    ];
    const dot = toDot(buildPicture(buildGraphView(nodes), { collapse: true }));
    expect(dot).toContain(`subgraph "cluster_${EPIC}"`);
    expect(dot).toContain('label="An \\"epic\\" \\\\ with newline"');
    expect(dot).toMatch(new RegExp(`"${B}" \\[id="${B}", class="task status-blocked held critical"[^\\n]*style="rounded,filled,dashed"`));
    expect(dot).toContain('claimed, by alice');
    expect(dot).toContain(`"${A}" -> "${B}" [id="edge-${A}-${B}", class="critical"`);
    // Every quote inside a value is escaped: no line has an odd number of unescaped quotes.
    for (const line of dot.split('\n').filter((l) => !l.includes('label=<<table'))) {
      expect((line.replace(/\\\\/g, '').replace(/\\"/g, '').match(/"/g) ?? []).length % 2).toBe(0);
    }
  });

  it('lays out big pictures with fewer passes, small ones in full', () => {
    const many = Array.from({ length: 1001 }, (_, i) => node(id(i + 1)));
    expect(toDot(buildPicture(buildGraphView(many), { collapse: true }))).toContain('mclimit=0.2');
    expect(toDot(buildPicture(buildGraphView(many.slice(1)), { collapse: true }))).not.toContain('mclimit');
  });

  it('names a collapsed epic and how much it holds', () => {
    const dot = toDot(buildPicture(buildGraphView(project()), { collapse: true }));
    expect(dot).toContain('3 tasks inside, all finished');
    expect(dot).toContain('shape="box3d"');
    expect(dot).not.toContain(`"${A}"`);
  });
});

describe('assertDrawable', () => {
  it(`refuses more than ${MAX_PICTURE_NODES} nodes with GRAPH_TOO_LARGE and a way out`, () => {
    const nodes = Array.from({ length: MAX_PICTURE_NODES + 1 }, (_, i) => node(id(i + 1)));
    const picture = buildPicture(buildGraphView(nodes), { collapse: true });
    let error: unknown;
    try {
      assertDrawable(picture);
    } catch (e) {
      error = e;
    }
    expect(LoomError.is(error) && error.code).toBe('GRAPH_TOO_LARGE');
    expect((error as LoomError).hint).toMatch(/--epic/);
    expect(() => assertDrawable(buildPicture(buildGraphView(nodes.slice(1)), { collapse: true }))).not.toThrow();
  });
});
