import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  type ListResourcesResult,
  type ListResourceTemplatesResult,
  type ReadResourceResult,
} from '#mcp-sdk';
import { LoomError } from '../../domain/errors.js';
import type { LoomEvent } from '../../domain/events.js';
import { TASK_ID_PATTERN } from '../../domain/task.js';
import type { LoomApi } from '../../ports/loom-api.js';
import { hideForeignLeases } from './present.js';
import { onRawRequest } from './raw-request.js';

/**
 * MCP resources: the project's status (`loom://project`) and any task's
 * detail (`loom://task/{id}`), readable and subscribable. A subscribed
 * resource gets `notifications/resources/updated` when an event of the
 * project touches it, coalesced so a burst (a tick releasing a thousand
 * tasks) sends at most one per URI per window.
 */

export const PROJECT_URI = 'loom://project';
export const TASK_URI_TEMPLATE = 'loom://task/{id}';
export const taskUri = (id: string): string => `loom://task/${id}`;

const JSON_MIME = 'application/json';
/** Subscriptions one session may hold at once. */
export const MAX_SUBSCRIPTIONS = 1000;
/** At most one notifications/resources/updated per URI per this many ms. */
export const COALESCE_MS = 200;
/** Longer URIs are refused before any parsing. */
const MAX_URI_LENGTH = 200;

const TASK_URI = /^loom:\/\/task\/(loom-[0-9a-f]{8})$/;

export type ResourceRef = { kind: 'project'; uri: string } | { kind: 'task'; uri: string; task_id: string };

/** A URI shown back in an error: short, and with control characters escaped. */
const shown = (uri: string): string => JSON.stringify(uri.length > 80 ? `${uri.slice(0, 80)}...` : uri);

const invalid = (message: string): McpError => new McpError(ErrorCode.InvalidParams, message);

const WHAT_EXISTS = `readable resources are ${PROJECT_URI} (the project's status) and ${TASK_URI_TEMPLATE} (one task, e.g. loom://task/loom-1a2b3c4d)`;

/** Parses a resource URI strictly; anything else is an InvalidParams error that says what exists. */
export function parseResourceUri(uri: unknown): ResourceRef {
  if (typeof uri !== 'string' || uri === '') throw invalid(`params.uri must be a non-empty string; ${WHAT_EXISTS}`);
  if (uri.length > MAX_URI_LENGTH) throw invalid(`resource URI too long (${uri.length} characters, at most ${MAX_URI_LENGTH}); ${WHAT_EXISTS}`);
  if (uri === PROJECT_URI) return { kind: 'project', uri };
  const m = TASK_URI.exec(uri);
  if (m !== null) return { kind: 'task', uri, task_id: m[1]! };
  if (uri.startsWith('loom://task/')) {
    throw invalid(`unknown resource ${shown(uri)}: a task id looks like loom-1a2b3c4d (loom- and 8 hex digits); ${WHAT_EXISTS}`);
  }
  throw invalid(`unknown resource ${shown(uri)}; ${WHAT_EXISTS}`);
}

/** Keys of an event's payload that may name other tasks whose detail the event changes. */
const RELATED_KEYS = ['by', 'depends_on', 'added', 'removed', 'parent_id', 'unblocked', 'task_ids', 'dependents'];
const MAX_RELATED = 100;

/** The resource URIs an event changes: the project always, its task, and tasks its payload names. */
export function urisOf(event: Pick<LoomEvent, 'task_id' | 'payload'>): string[] {
  const uris = new Set<string>([PROJECT_URI]);
  if (event.task_id !== null) uris.add(taskUri(event.task_id));
  const payload = event.payload ?? {};
  for (const key of RELATED_KEYS) {
    const v = (payload as Record<string, unknown>)[key];
    const values = Array.isArray(v) ? v.slice(0, MAX_RELATED) : [v];
    for (const id of values) if (typeof id === 'string' && TASK_ID_PATTERN.test(id)) uris.add(taskUri(id));
  }
  return [...uris];
}

export interface SubscriptionOptions {
  send: (uri: string) => Promise<void>;
  log: (line: string) => void;
  max?: number;
  windowMs?: number;
  now?: () => number;
}

/**
 * One session's resource subscriptions and the coalescing of their updates:
 * the first change of a URI is sent at once, later ones within the window
 * are folded into one sent when the window ends.
 */
export class ResourceSubscriptions {
  private readonly subs = new Set<string>();
  private readonly lastSent = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly o: SubscriptionOptions) {
    this.max = o.max ?? MAX_SUBSCRIPTIONS;
    this.windowMs = o.windowMs ?? COALESCE_MS;
    this.now = o.now ?? (() => Date.now());
  }

  get size(): number {
    return this.subs.size;
  }

  has(uri: string): boolean {
    return this.subs.has(uri);
  }

  subscribe(uri: string): void {
    if (this.closed || this.subs.has(uri)) return;
    if (this.subs.size >= this.max) {
      throw invalid(`this session already holds ${this.max} resource subscriptions, the most it may; resources/unsubscribe from some first (${PROJECT_URI} alone covers every change in the project)`);
    }
    this.subs.add(uri);
  }

  unsubscribe(uri: string): void {
    this.subs.delete(uri);
    this.lastSent.delete(uri);
    this.dirty.delete(uri);
  }

  /** The event-source handler: synchronous, never throws. */
  readonly onEvent = (event: LoomEvent): void => {
    if (this.closed || this.subs.size === 0) return;
    try {
      for (const uri of urisOf(event)) this.changed(uri);
    } catch (error) {
      this.o.log(`loom mcp: could not map event ${event.id} to resources: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  close(): void {
    this.closed = true;
    this.subs.clear();
    this.lastSent.clear();
    this.dirty.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private changed(uri: string): void {
    if (!this.subs.has(uri) || this.dirty.has(uri)) return;
    const last = this.lastSent.get(uri);
    if (last === undefined || this.now() - last >= this.windowMs) {
      this.send(uri);
      return;
    }
    this.dirty.add(uri);
    this.schedule(last + this.windowMs - this.now());
  }

  private send(uri: string): void {
    this.lastSent.set(uri, this.now());
    this.o.send(uri).catch((error: unknown) => {
      this.o.log(`loom mcp: could not send resources/updated for ${uri}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, delayMs));
    this.timer.unref?.();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    let next = Infinity;
    for (const uri of [...this.dirty]) {
      const due = (this.lastSent.get(uri) ?? 0) + this.windowMs;
      if (this.now() >= due) {
        this.dirty.delete(uri);
        if (this.subs.has(uri)) this.send(uri);
      } else next = Math.min(next, due);
    }
    if (this.dirty.size > 0) this.schedule(Number.isFinite(next) ? next - this.now() : this.windowMs);
  }
}

export interface ResourceContext {
  api: LoomApi;
  project_id: string;
  log: (line: string) => void;
  /** This session's own lease for a task: any other lease token is hidden. */
  ownToken: (taskId: string) => string | undefined;
}

/** A failure of the API while reading a resource, as an MCP error: a model reads the message, never a stack. */
function toMcpError(error: unknown, ref: ResourceRef, log: (line: string) => void): McpError {
  if (error instanceof McpError) return error;
  if (LoomError.is(error) && error.code !== 'INTERNAL') {
    const hint = error.code === 'TASK_NOT_FOUND' ? '; check the id with loom_ready or loom_status' : error.hint === undefined ? '' : `; ${error.hint}`;
    return new McpError(ErrorCode.InvalidParams, `${error.code}: ${error.message}${hint}`, { code: error.code, uri: ref.uri });
  }
  log(`loom mcp: internal error reading ${ref.uri}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new McpError(ErrorCode.InternalError, 'internal error; retry once, and if it fails again tell a human with loom_escalate');
}

async function readJson(ref: ResourceRef, c: ResourceContext): Promise<unknown> {
  if (ref.kind === 'project') return c.api.overview({ project_id: c.project_id });
  return hideForeignLeases(await c.api.status({ project_id: c.project_id, task_id: ref.task_id }), c.ownToken);
}

const uriOf = (request: { params?: unknown }): unknown => {
  const params = request.params;
  return typeof params === 'object' && params !== null ? (params as { uri?: unknown }).uri : undefined;
};

/** Registers resources/list, templates/list, read, subscribe and unsubscribe on `server` (which declares the resources capability). */
export function registerResources(server: Server, c: ResourceContext, subs: ResourceSubscriptions): void {
  const listed: ListResourcesResult = {
    resources: [
      {
        uri: PROJECT_URI,
        name: 'project',
        title: 'Loom project status',
        description: 'The project overview: task counts by status, how many are ready, blocked tasks, open escalations (what loom_status gives without task_id).',
        mimeType: JSON_MIME,
      },
    ],
  };
  const templates: ListResourceTemplatesResult = {
    resourceTemplates: [
      {
        uriTemplate: TASK_URI_TEMPLATE,
        name: 'task',
        title: 'Loom task',
        description: 'One task in full: fields, context, output, dependencies and dependents, escalations, recent events (what loom_status {task_id} gives). id looks like loom-1a2b3c4d.',
        mimeType: JSON_MIME,
      },
    ],
  };
  server.setRequestHandler(ListResourcesRequestSchema, () => listed);
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => templates);

  onRawRequest(server, 'resources/read', async (request): Promise<ReadResourceResult> => {
    const ref = parseResourceUri(uriOf(request));
    try {
      const data = await readJson(ref, c);
      return { contents: [{ uri: ref.uri, mimeType: JSON_MIME, text: JSON.stringify(data) }] };
    } catch (error) {
      throw toMcpError(error, ref, c.log);
    }
  });

  onRawRequest(server, 'resources/subscribe', async (request) => {
    const ref = parseResourceUri(uriOf(request));
    if (ref.kind === 'task' && !subs.has(ref.uri)) {
      // Refuse a task that does not exist: a subscription to it would never fire.
      try {
        await c.api.status({ project_id: c.project_id, task_id: ref.task_id });
      } catch (error) {
        throw toMcpError(error, ref, c.log);
      }
    }
    subs.subscribe(ref.uri);
    return {};
  });

  onRawRequest(server, 'resources/unsubscribe', async (request) => {
    const ref = parseResourceUri(uriOf(request));
    subs.unsubscribe(ref.uri);
    return {};
  });
}
