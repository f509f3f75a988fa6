import type { Task } from '../../domain/task.js';

/**
 * The task rows this process wrote last (on claim and heartbeat), so the
 * report that follows can decide without reading the row again. Never
 * authoritative: a write from a remembered row is guarded by its revision,
 * and a mismatch falls back to a fresh read.
 */
export class RecentTasks {
  private readonly rows = new Map<string, Task>();

  constructor(private readonly capacity = 10_000) {}

  remember(task: Task): void {
    this.rows.delete(task.id);
    this.rows.set(task.id, task);
    if (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value!);
  }

  /** The remembered row, forgotten as it is handed out (it is about to change). */
  take(projectId: string, taskId: string): Task | undefined {
    const task = this.rows.get(taskId);
    this.rows.delete(taskId);
    return task?.project_id === projectId ? task : undefined;
  }
}
