import type { Task } from '../../../domain/task.js';

/**
 * What a list tool (loom_ready, loom_dlq) shows of each task: enough to pick
 * one (id, title, priority, status, a few counts, a short preview of its
 * context), not the whole context. A list result is sent twice (as text and
 * as structuredContent) into the model's context; twenty full 1 KB contexts
 * are ~10k tokens the agent mostly never needs. The full task is one
 * loom_status {task_id} (or the loom://task/{id} resource) away, and
 * loom_claim returns it whole.
 */
export interface TaskSummary {
  id: string;
  title: string;
  status: Task['status'];
  priority: Task['priority'];
  parent_id: string | null;
  /** Dependencies, and those not yet done. */
  depends_on: number;
  unmet_deps: number;
  /** Tasks downstream not yet done: what finishing this one helps. */
  unblocks: number;
  attempts: number;
  max_attempts: number;
  assignee: string | null;
  done_when: string | null;
  /** The start of the context as JSON, cut at PREVIEW_CHARS. */
  context_preview: string;
  /** Length of the whole context as JSON: more than the preview means loom_status has the rest. */
  context_chars: number;
  failure_reason?: string;
  labels?: unknown;
}

export const PREVIEW_CHARS = 160;
const DONE_WHEN_CHARS = 200;

const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** A list read replaces a large context by {truncated: true, bytes, see}: its size is the real one. */
function listMarkerBytes(context: unknown): number | undefined {
  const c = context as { truncated?: unknown; bytes?: unknown } | null;
  return c !== null && typeof c === 'object' && c.truncated === true && typeof c.bytes === 'number' ? c.bytes : undefined;
}

export function taskSummary(task: Task): TaskSummary {
  const context = JSON.stringify(task.context ?? {});
  const summary: TaskSummary = {
    id: task.id,
    title: task.title,
    status: task.status,
    priority: task.priority,
    parent_id: task.parent_id,
    depends_on: task.depends_on.length,
    unmet_deps: task.unmet_deps,
    unblocks: task.weight,
    attempts: task.attempts,
    max_attempts: task.max_attempts,
    assignee: task.assignee,
    done_when: task.done_when === null ? null : cut(task.done_when, DONE_WHEN_CHARS),
    context_preview: cut(context, PREVIEW_CHARS),
    context_chars: listMarkerBytes(task.context) ?? context.length,
  };
  if (task.failure_reason !== null) summary.failure_reason = cut(task.failure_reason, 500);
  // Labels are short and are what a list is filtered by: shown when tasks carry them.
  const labels = (task as unknown as { labels?: unknown }).labels;
  if (labels !== undefined) summary.labels = labels;
  return summary;
}

/** Said in the description of every tool that lists summaries. */
export const SUMMARY_NOTE = 'Tasks come as summaries; loom_status {task_id} gives one in full.';
