import type { GraphNode, GraphView } from './graph.js';
import { TASK_STATUSES, type TaskStatus } from './task.js';

const mermaidLabel = (n: GraphNode): string =>
  `${n.id}: ${n.title}`.replace(/["<>]/g, "'").replace(/\s+/g, ' ').slice(0, 80);

/** Mermaid flowchart: arrows point from a dependency to the task that waits for it. */
export function toMermaid(view: GraphView): string {
  const lines = ['flowchart TD'];
  const cls = (s: TaskStatus): string => s;
  for (const n of view.nodes) {
    const shape = n.status === 'epic' ? [`[["`, `"]]`] : [`["`, `"]`];
    // A held task is drawn as held (dashed, orange) whatever its status: that is what an operator looks for.
    const held = n.held === true;
    lines.push(`  ${n.id.replace('-', '_')}${shape[0]}${mermaidLabel(n)} (${n.status}${held ? ', held' : ''})${shape[1]}:::${held ? 'held' : cls(n.status)}`);
  }
  for (const [task, dep] of view.edges) lines.push(`  ${dep.replace('-', '_')} --> ${task.replace('-', '_')}`);
  for (const n of view.nodes) {
    if (n.parent_id !== null) lines.push(`  ${n.parent_id.replace('-', '_')} -.- ${n.id.replace('-', '_')}`);
  }
  lines.push(
    '  classDef done fill:#d3f9d8,stroke:#2b8a3e',
    '  classDef claimed fill:#fff3bf,stroke:#e67700',
    '  classDef blocked fill:#f1f3f5,stroke:#868e96',
    '  classDef failed fill:#ffe3e3,stroke:#c92a2a',
    '  classDef cancelled fill:#f8f9fa,stroke:#adb5bd,stroke-dasharray: 3 3',
    '  classDef pending fill:#e7f5ff,stroke:#1971c2',
    '  classDef epic fill:#f3f0ff,stroke:#6741d9',
    '  classDef held fill:#fff4e6,stroke:#d9480f,stroke-dasharray: 5 5',
  );
  return lines.join('\n');
}

export function toWavesText(view: GraphView): string {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  if (view.waves.length === 0 && view.stuck.length === 0) return 'no open work: every task is done, failed or cancelled';
  const lines: string[] = [];
  view.waves.forEach((wave, i) => {
    lines.push(`wave ${i + 1} (${wave.length} task${wave.length === 1 ? '' : 's'})`);
    for (const id of wave) {
      const n = byId.get(id)!;
      lines.push(`  ${id}  ${n.priority}  ${n.status.padEnd(8)} ${n.held === true ? 'HELD ' : ''}${n.title}`);
    }
  });
  if (view.stuck.length > 0) {
    lines.push(`stuck behind a failed or cancelled dependency (${view.stuck.length})`);
    for (const id of view.stuck) lines.push(`  ${id}  ${byId.get(id)!.title}`);
  }
  return lines.join('\n');
}

export function toSummaryText(view: GraphView): string {
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const n of view.nodes) counts[n.status]++;
  const parts = TASK_STATUSES.filter((s) => counts[s] > 0).map((s) => `${s} ${counts[s]}`);
  const held = view.nodes.filter((n) => n.held === true && n.status !== 'done' && n.status !== 'cancelled').length;
  const widest = view.waves.reduce((m, w) => Math.max(m, w.length), 0);
  return [
    `${view.nodes.length} tasks, ${view.edges.length} dependencies`,
    `status: ${parts.length > 0 ? parts.join(', ') : 'empty'}`,
    `open work: ${view.waves.length} wave${view.waves.length === 1 ? '' : 's'}, widest ${widest} in parallel`,
    ...(view.stuck.length > 0 ? [`stuck: ${view.stuck.length} behind failed or cancelled dependencies`] : []),
    ...(held > 0 ? [`held: ${held} open task${held === 1 ? '' : 's'} never claimed until resumed (loom resume, or loom budget set for a budget's hold)`] : []),
  ].join('\n');
}
