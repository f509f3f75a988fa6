import { toDot } from '../../src/domain/graph-dot.js';
import { buildPicture } from '../../src/domain/graph-picture.js';
import { buildGraphView, type GraphNode } from '../../src/domain/graph.js';
import type { TaskStatus } from '../../src/domain/task.js';
import { VizGraphPictures } from '../../src/adapters/graphviz/viz-graph-pictures.js';
import { round } from '../support/stats.js';

/**
 * bench/graph: how long `loom graph --format svg|html` takes to draw a
 * project (the part done in the CLI process: picture, DOT, Graphviz as
 * WASM, the HTML page; reading the graph from the store is one query).
 * Prints one JSON document with, per size:
 * - open: N open tasks, epics of 20 (chains of five, edges across chains
 *   and to the previous epic), every task drawn;
 * - collapsed: N open tasks as above plus as many done ones in finished
 *   epics, each drawn as one node (the same N + N/20 ... nodes drawn);
 * - dense (not with --quick): 5,000 open tasks with four dependencies each
 *   (inside their epic and on the epic before), about 20,000 edges: the
 *   edge limit.
 * With --beyond: 10,000 open tasks drawn without the limit, to show what
 * lies past it.
 *
 *   npm run build && node dist/bench/graph/run.js [--quick] [--beyond] [--only-dense]
 */
const quick = process.argv.includes('--quick');
const beyond = process.argv.includes('--beyond');
const onlyDense = process.argv.includes('--only-dense');
const SIZES = quick ? [200, 1000] : [200, 1000, 5000];
const EPIC = 20;
const T0 = '2026-01-01T00:00:00.000Z';
const id = (n: number): string => `loom-${n.toString(16).padStart(8, '0')}`;

/** `n` tasks in epics of 20, starting at id `first`; `done` makes every one (and its epic) done. */
function tasks(first: number, n: number, done: boolean, after: string | null, dense = false): GraphNode[] {
  const out: GraphNode[] = [];
  let next = first;
  for (let e = 0; e < n / EPIC; e++) {
    const epicId = id(next++);
    out.push({ id: epicId, title: `Epic ${e}`, status: done ? 'done' : 'epic', priority: 'p1', parent_id: null, depends_on: [], weight: 0, created_at: T0 });
    const ids: string[] = [];
    for (let i = 0; i < EPIC; i++) {
      const deps = dense
        ? [...new Set([i - 1, i - 2, i - 5, i - 9].filter((j) => j >= 0).map((j) => ids[j]!))].concat(i < 4 && after !== null ? [after] : [])
        : [...(i % 5 === 0 ? [] : [ids[i - 1]!]), ...(i >= 7 && i % 3 === 0 ? [ids[i - 7]!] : []), ...(i === 0 && after !== null ? [after] : [])];
      const status: TaskStatus = done ? 'done' : deps.length === 0 ? (i % 10 === 0 ? 'claimed' : 'pending') : 'blocked';
      const t = id(next++);
      ids.push(t);
      out.push({ id: t, title: `Step ${i} of epic ${e}: a title of ordinary length`, status, priority: (['p0', 'p1', 'p2'] as const)[i % 3]!, parent_id: epicId, depends_on: deps, weight: 0, created_at: T0, held: i === 13, assignee: status === 'claimed' ? 'agent-1' : null });
    }
    after = ids[EPIC - 1]!;
  }
  return out;
}

async function draw(nodes: GraphNode[], pictures: VizGraphPictures, limit = true): Promise<Record<string, number>> {
  let t = performance.now();
  const picture = buildPicture(buildGraphView(nodes), { collapse: true });
  const dot = toDot(picture);
  const dotMs = performance.now() - t;
  t = performance.now();
  const svg = limit ? await pictures.svg({ dot, picture }) : await pictures.svg({ dot, picture: { ...picture, nodes: [], edges: [] } });
  const svgMs = performance.now() - t;
  t = performance.now();
  const html = limit ? await pictures.html({ dot, picture, title: 'bench' }) : '';
  const htmlMs = performance.now() - t;
  return {
    tasks: nodes.length,
    nodes: picture.nodes.length,
    edges: picture.edges.length,
    picture_and_dot_ms: round(dotMs),
    svg_ms: round(svgMs),
    html_ms: round(htmlMs),
    svg_bytes: svg.length,
    html_bytes: html.length,
    rss_mb: round(process.memoryUsage().rss / 2 ** 20, 0),
  };
}

async function main(): Promise<void> {
  const pictures = new VizGraphPictures();
  const t = performance.now();
  await pictures.svg({ dot: 'digraph { a }', picture: { epic_id: null, nodes: [], edges: [], critical_path: [], tasks: 0, collapsed_tasks: 0 } });
  const out: Record<string, unknown> = { wasm_load_ms: round(performance.now() - t), sizes: {} as Record<string, unknown> };
  for (const n of onlyDense ? [] : SIZES) {
    const open = tasks(1, n, false, null);
    const finished = tasks(open.length + 1, n, true, null);
    (out.sizes as Record<string, unknown>)[n] = {
      open: await draw(open, pictures),
      collapsed: await draw([...finished, ...open], pictures),
    };
  }
  if (!quick) out.dense_5000 = await draw(tasks(1, 5000, false, null, true), pictures);
  if (beyond) out.beyond_limit = await draw(tasks(1, 10_000, false, null), pictures, false);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
