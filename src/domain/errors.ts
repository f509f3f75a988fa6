/**
 * One error type for every expected failure, recognised by a brand rather than
 * `instanceof` (which fails when a plugin bundles its own copy of Loom).
 */
export const ERROR_CODES = [
  'TASK_NOT_FOUND',
  'ESCALATION_NOT_FOUND',
  'SKILL_NOT_FOUND',
  'WORKFLOW_NOT_FOUND',
  'PLUGIN_NOT_FOUND',
  'PLUGIN_NOT_A_PLUGIN',
  'PLUGIN_INSTALL_FAILED',
  'PLUGIN_NOT_REMOVABLE',
  'PLUGIN_RUNNER_UNAVAILABLE',
  'PROJECT_NOT_FOUND',
  'PROJECT_REMOVED',
  'BUDGET_EXCEEDED',
  'NO_PROJECT',
  'DEPENDENCY_CYCLE',
  'DEPENDENCY_NOT_FOUND',
  'INVALID_TRANSITION',
  'LEASE_LOST',
  'NOT_CLAIMED',
  'NOT_READY',
  'CONFLICT',
  'VALIDATION_FAILED',
  'RESPONSE_TOO_LARGE',
  'GRAPH_TOO_LARGE',
  'PLAN_FLAT',
  'PLAN_STALE',
  'SAMPLING_UNSUPPORTED',
  'CONFIG_INVALID',
  'MIGRATION_AHEAD',
  'STORE_MISMATCH',
  'IMPORT_INVALID',
  'IMPORT_CONFLICT',
  'DATABASE_UNAVAILABLE',
  'DATABASE_NOT_FOUND',
  'DATABASE_AUTH_FAILED',
  'DATABASE_PERMISSION',
  'DAEMON_UNAVAILABLE',
  'TOKEN_REQUIRED',
  'UNAUTHORIZED',
  'DOCKER_UNAVAILABLE',
  'COMPOSE_FAILED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('loom.LoomError');

export interface LoomErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class LoomError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LoomErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoomError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  static is(value: unknown): value is LoomError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** The shape shown to people and models: never a stack trace. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }

  static fromJSON(value: SerializedError): LoomError {
    const code = (ERROR_CODES as readonly string[]).includes(value.code) ? (value.code as ErrorCode) : 'INTERNAL';
    return new LoomError(code, value.message, {
      ...(value.hint === undefined ? {} : { hint: value.hint }),
      ...(value.details === undefined ? {} : { details: value.details }),
    });
  }
}

export interface SerializedError {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

export const taskNotFound = (id: string): LoomError =>
  new LoomError('TASK_NOT_FOUND', `no task ${id} in this project`, {
    hint: 'check the id with `loom status` or `loom ready`; ids look like loom-1a2b3c4d',
    details: { task_id: id },
  });

export const dependencyNotFound = (ids: readonly string[]): LoomError =>
  new LoomError('DEPENDENCY_NOT_FOUND', `unknown dependency ${ids.join(', ')}`, {
    hint: 'a task can only depend on tasks of the same project; create the dependency first',
    details: { task_ids: [...ids] },
  });

export const validationFailed = (message: string, details?: Record<string, unknown>): LoomError =>
  new LoomError('VALIDATION_FAILED', message, {
    hint: 'fix the input and try again; nothing was written',
    ...(details === undefined ? {} : { details }),
  });

/** A write to a project `loom project remove` closed; reads still work. */
export function projectRemoved(projectId: string, removedAt: string | null, cause?: unknown): LoomError {
  return new LoomError('PROJECT_REMOVED', `project ${projectId} was removed${removedAt === null ? '' : ` at ${removedAt}`}; it takes no more writes`, {
    hint: 'an operator removed it with `loom project remove`; its tasks, events and escalations can still be read (`loom status`, `loom list`, `loom export`), and new work belongs in another project',
    details: { project_id: projectId, removed_at: removedAt },
    ...(cause === undefined ? {} : { cause }),
  });
}
