import { randomBytes } from 'node:crypto';
import { LoomError } from '../../domain/errors.js';

/** A client name made safe for an agent id: lower case, [a-z0-9_-], at most 40 characters. */
export function sanitizeClientName(name: string | undefined): string {
  const clean = (name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 40)
    .replace(/[-_]+$/, '');
  return clean === '' ? 'agent' : clean;
}

/**
 * One MCP connection's identity and the leases it holds. Remembering the
 * token of every claim lets an agent report without carrying tokens itself:
 * models lose them (compaction, long tool outputs); the session does not.
 */
export class McpSession {
  private id: string;
  /** Set by the caller (o.agentId) or by a tool's agent_id: the client name no longer changes it. */
  private chosen: boolean;
  private readonly suffix: string;
  private readonly leases = new Map<string, string>();

  constructor(agentId?: string, suffix: string = randomBytes(3).toString('hex')) {
    this.suffix = suffix;
    this.chosen = agentId !== undefined;
    this.id = agentId ?? `session-${suffix}`;
  }

  get agentId(): string {
    return this.id;
  }

  /** Once the client said who it is: `<client name>-<suffix>`, unless an id was chosen. */
  identify(clientName: string | undefined): void {
    if (!this.chosen) this.id = `${sanitizeClientName(clientName)}-${this.suffix}`;
  }

  /** An explicit agent id (a tool's agent_id argument) is this session's id from now on. */
  useAgent(agentId: string): void {
    this.id = agentId;
    this.chosen = true;
  }

  remember(taskId: string, token: string): void {
    this.leases.set(taskId, token);
  }

  /** Forgets the lease of a task (only if it is still `token`, when given). */
  forget(taskId: string, token?: string): void {
    if (token === undefined || this.leases.get(taskId) === token) this.leases.delete(taskId);
  }

  tokenFor(taskId: string): string | undefined {
    return this.leases.get(taskId);
  }

  /** Task ids this session holds a remembered lease for. */
  heldTasks(): string[] {
    return [...this.leases.keys()];
  }

  /** The token to present for `taskId`: the one passed, else the remembered one, else NOT_CLAIMED. */
  holds(taskId: string): boolean {
    return this.leases.has(taskId);
  }

  leaseToken(taskId: string, passed: string | undefined): string {
    const token = passed ?? this.leases.get(taskId);
    if (token !== undefined) return token;
    throw new LoomError('NOT_CLAIMED', `this session holds no lease on ${taskId}`, {
      hint: `claim it first with loom_claim {"task_id": "${taskId}"}, or pass the lease_token you got when you claimed it (loom_recover lists the tasks you hold)`,
      details: { task_id: taskId },
    });
  }
}
