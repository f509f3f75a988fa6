import type { ServiceIdentifier } from 'inversify';
import type { Project } from '../domain/task.js';
import type { EventHandler } from './event-bus.js';
import type { LoomApi } from './loom-api.js';

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** Live events of a project as they commit, wherever they were made. Returns the unsubscribe function. */
export interface EventSource {
  subscribe(projectId: string, handler: EventHandler): () => void;
}

export type StorageMode = 'embedded' | 'server';

export interface ProjectContext {
  project_dir: string;
  project_id: string;
  mode: StorageMode;
}

export interface DaemonStatus {
  running: boolean;
  data_dir: string;
  pid?: number;
  started_at?: string;
  uptime_s?: number;
  idle_timeout_s?: number;
  requests?: number;
  /** Server mode has no daemon: the reason is given here. */
  note?: string;
}

/**
 * What the driving adapters (CLI, MCP) need from the composition root:
 * open a project's API in the configured storage mode, and the operator
 * actions that exist outside any project (init, migrate, the daemon).
 */
export interface LoomConnector {
  /** Opens the project found from `projectDir` (or LOOM_PROJECT_DIR, or the cwd). Throws NO_PROJECT when none. */
  open(opts?: { projectDir?: string }): Promise<{ api: LoomApi; project: ProjectContext; events: EventSource }>;
  /** Creates `.loom/config.yaml` with a new project; a second call returns the existing one. */
  init(opts: { projectDir?: string; name?: string }): Promise<{
    project: Project;
    created: boolean;
    config_path: string;
    mode: StorageMode;
    /** What init did to the Claude Code files of the project. */
    claude_code: { mcp_json: 'created' | 'updated' | 'unchanged'; agents_md: 'created' | 'updated' | 'unchanged' };
  }>;
  migrate(opts?: { projectDir?: string }): Promise<{ applied: string[]; version: number }>;
  daemonStatus(opts?: { projectDir?: string }): Promise<DaemonStatus>;
  daemonStop(opts?: { projectDir?: string }): Promise<{ stopped: boolean; data_dir: string }>;
  /**
   * Serves MCP over this process's stdin/stdout (what Claude Code spawns)
   * until the client goes away or a signal asks it to stop.
   */
  serveMcp(opts?: { projectDir?: string; agentId?: string }): Promise<void>;
  /** `loom orchestrate`: the reconcile loop, and with `run` the agent runner; prints through `out`. */
  orchestrate(opts: {
    projectDir?: string;
    once?: boolean;
    intervalSeconds?: number;
    run?: string;
    concurrency?: number;
    timeoutSeconds?: number;
    exitWhenIdle?: boolean;
    agentId?: string;
    out: (line: string) => void;
  }): Promise<{ ticks: number; dispatched: { done: string[]; failed: string[]; timed_out: string[]; lease_lost: string[]; released: string[] } | null }>;
  /** `loom doctor`: every part of the setup checked, each failure with a fix. */
  doctor(opts?: { projectDir?: string }): Promise<DoctorCheck[]>;
  /** `loom demo`: a small project worked by three simulated agents over MCP; prints through `out`. */
  runDemo(opts: { dir?: string; out: (line: string) => void }): Promise<{ complete: boolean; dir: string }>;
}
export const LoomConnector: ServiceIdentifier<LoomConnector> = Symbol.for('loom.LoomConnector');
