import { describe, expect, it } from 'vitest';
import { toMermaid, toSummaryText, toWavesText } from '../../src/domain/graph-format.js';
import { buildGraphView, type GraphNode } from '../../src/domain/graph.js';
import type { TaskStatus } from '../../src/domain/task.js';

const T0 = '2025-01-01T00:00:00.000Z';

function node(id: string, depends_on: string[] = [], over: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    title: `title of ${id}`,
    status: depends_on.length > 0 ? 'blocked' : 'pending',
    priority: 'p1',
    parent_id: null,
    depends_on,
    weight: 0,
    created_at: T0,
    ...over,
  };
}

/** Mermaid node ids: the hyphen of loom-xxxxxxxx is not a valid id character. */
const mid = (id: string): string => id.replace('-', '_');

const EPIC = 'loom-0000e000';
const A = 'loom-0000000a';
const B = 'loom-0000000b';
const C = 'loom-0000000c';
const D = 'loom-0000000d';
const F = 'loom-0000000f';
const G = 'loom-00000001';

const diamond = (): GraphNode[] => [
  node(EPIC, [], { status: 'epic', title: 'the epic' }),
  node(A, [], { status: 'done', parent_id: EPIC }),
  node(B, [A], { status: 'claimed', parent_id: EPIC }),
  node(C, [A], { status: 'pending', parent_id: EPIC }),
  node(D, [B, C], { parent_id: EPIC }),
];

describe('toMermaid', () => {
  const view = buildGraphView(diamond());
  const out = toMermaid(view);
  const lines = out.split('\n');

  it('is a top-down flowchart', () => {
    expect(lines[0]).toBe('flowchart TD');
  });

  it.each(diamond())('declares node $id with its id, title, status and class', (n) => {
    const decl = lines.find((l) => l.trimStart().startsWith(`${mid(n.id)}[`));
    expect(decl, `no declaration for ${n.id} in:\n${out}`).toBeDefined();
    expect(decl).toContain(`${n.id}: ${n.title} (${n.status})`);
    expect(decl!.endsWith(`:::${n.status}`)).toBe(true);
  });

  it.each([
    [A, B],
    [A, C],
    [B, D],
    [C, D],
  ])('draws the edge %s --> %s (dependency to dependent)', (dep, task) => {
    expect(lines).toContain(`  ${mid(dep)} --> ${mid(task)}`);
  });

  it('draws exactly one arrow per dependency', () => {
    expect(lines.filter((l) => l.includes('-->'))).toHaveLength(view.edges.length);
  });

  it.each([A, B, C, D])('links child %s to its epic with a dotted line', (child) => {
    expect(lines).toContain(`  ${mid(EPIC)} -.- ${mid(child)}`);
  });

  it('draws the epic as a subroutine box and tasks as plain boxes', () => {
    expect(lines.find((l) => l.includes(`${mid(EPIC)}[`))).toContain(`${mid(EPIC)}[["`);
    expect(lines.find((l) => l.includes(`${mid(A)}[`))).toContain(`${mid(A)}["`);
    expect(lines.find((l) => l.includes(`${mid(A)}[`))).not.toContain('[[');
  });

  it.each<TaskStatus>(['pending', 'blocked', 'claimed', 'done', 'failed', 'cancelled', 'epic'])('defines a style for %s', (s) => {
    expect(lines.some((l) => l.trimStart().startsWith(`classDef ${s} `))).toBe(true);
  });

  it.each([
    ['double quotes', 'say "hi"', 'say \'hi\''],
    ['angle brackets', 'a <b> c', "a 'b' c"],
    ['newlines and runs of spaces', 'one\n\ntwo   three', 'one two three'],
  ])('keeps the label on one line and valid with %s in the title', (_label, title, shown) => {
    const text = toMermaid(buildGraphView([node(A, [], { title })]));
    const decl = text.split('\n').find((l) => l.includes(`${mid(A)}[`))!;
    expect(decl).toContain(shown);
    expect(decl.slice(decl.indexOf('["') + 2, decl.lastIndexOf('"]'))).not.toMatch(/["<>\n]/);
  });

  it('truncates very long titles', () => {
    const text = toMermaid(buildGraphView([node(A, [], { title: 'x'.repeat(500) })]));
    const decl = text.split('\n').find((l) => l.includes(`${mid(A)}[`))!;
    expect(decl.length).toBeLessThan(200);
  });
});

describe('toWavesText', () => {
  it('numbers waves from 1 and lists each task with priority, status and title', () => {
    const text = toWavesText(
      buildGraphView([node(A), node(B, [A], { priority: 'p0' }), node(C, [A]), node(D, [B, C])]),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('wave 1 (1 task)');
    expect(lines[1]).toMatch(new RegExp(`^\\s+${A}\\s+p1\\s+pending\\s+title of ${A}$`));
    expect(lines[2]).toBe('wave 2 (2 tasks)');
    // Ready order inside a wave: the p0 task first.
    expect(lines[3]).toContain(B);
    expect(lines[4]).toContain(C);
    expect(lines[5]).toBe('wave 3 (1 task)');
    expect(lines[6]).toContain(D);
    expect(lines).toHaveLength(7);
  });

  it('lists tasks stuck behind a failed dependency after the waves', () => {
    const text = toWavesText(buildGraphView([node(F, [], { status: 'failed' }), node(G, [F]), node(A)]));
    const lines = text.split('\n');
    expect(lines[0]).toBe('wave 1 (1 task)');
    expect(lines[1]).toContain(A);
    expect(lines[2]).toBe('stuck behind a failed or cancelled dependency (1)');
    expect(lines[3]).toContain(G);
    expect(lines[3]).toContain(`title of ${G}`);
    expect(text).not.toMatch(new RegExp(`^\\s+${F}`, 'm'));
  });

  it('says so when there is no open work', () => {
    expect(toWavesText(buildGraphView([node(A, [], { status: 'done' })]))).toMatch(/no open work/);
    expect(toWavesText(buildGraphView([]))).toMatch(/no open work/);
  });
});

describe('toSummaryText', () => {
  it('counts tasks, dependencies, statuses, waves and the widest wave', () => {
    const text = toSummaryText(buildGraphView(diamond()));
    expect(text.split('\n')).toEqual([
      '5 tasks, 4 dependencies',
      'status: pending 1, blocked 1, claimed 1, done 1, epic 1',
      'open work: 2 waves, widest 2 in parallel',
    ]);
  });

  it('reports stuck tasks and uses the singular for one wave', () => {
    const text = toSummaryText(buildGraphView([node(F, [], { status: 'failed' }), node(G, [F]), node(A)]));
    expect(text).toContain('open work: 1 wave, widest 1 in parallel');
    expect(text).toContain('stuck: 1 behind failed or cancelled dependencies');
  });

  it('handles an empty graph', () => {
    expect(toSummaryText(buildGraphView([])).split('\n')).toEqual([
      '0 tasks, 0 dependencies',
      'status: empty',
      'open work: 0 waves, widest 0 in parallel',
    ]);
  });
});

describe('held work in the graph formats', () => {
  const view = buildGraphView([node(A, [], { status: 'pending', held: true }), node(B, [A], { held: true }), node(C)]);

  it('mermaid draws a held task in the held class, its status still named', () => {
    const decl = toMermaid(view).split('\n').find((l) => l.includes(`${mid(A)}[`))!;
    expect(decl).toMatch(/\(pending, held\)"\]:::held$/);
    expect(toMermaid(view)).toContain('classDef held');
  });

  it('waves mark held tasks, and the summary counts them', () => {
    expect(toWavesText(view).split('\n')).toContain(`  ${A}  p1  pending  HELD title of ${A}`);
    expect(toWavesText(view).split('\n')).toContain(`  ${C}  p1  pending  title of ${C}`);
    expect(toSummaryText(view)).toContain("held: 2 open tasks never claimed until resumed (loom resume, or loom budget set for a budget's hold)");
  });
});
