import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { LOOM_BIN } from './loom-cli.js';

const TASK_EVENT = 'notifications/loom/task_event';

export interface TaskEvent {
  event_id: number;
  type: string;
  task_id: string | null;
  agent_id: string | null;
  payload: Record<string, unknown>;
  at: string;
}

export interface ToolCall {
  isError: boolean;
  /** structuredContent: the result, or {error} on failure. */
  data: Record<string, any>;
  /** content[0].text, parsed. */
  json: Record<string, any>;
  text: string;
}

/** One `loom mcp` process and the SDK client talking to it over its stdin/stdout. */
export class McpProcess {
  readonly events: TaskEvent[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(
    readonly client: Client,
    readonly transport: StdioClientTransport,
  ) {
    this.closed = new Promise((resolve) => {
      client.onclose = () => resolve();
    });
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === TASK_EVENT) this.events.push(n.params as unknown as TaskEvent);
      for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** `client`: what the client advertises (say `{ sampling: {} }`) and a hook to set its request handlers before it connects. */
  static async start(
    cwd: string,
    args: string[],
    env: Record<string, string>,
    client: { capabilities?: ClientCapabilities; setup?: (client: Client) => void } = {},
  ): Promise<McpProcess> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [LOOM_BIN, 'mcp', ...args],
      cwd,
      env: { ...(process.env as Record<string, string>), LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env },
      stderr: 'pipe',
    });
    const sdkClient = new Client({ name: 'e2e-client', version: '1.0.0' }, client.capabilities === undefined ? undefined : { capabilities: client.capabilities });
    client.setup?.(sdkClient);
    const proc = new McpProcess(sdkClient, transport);
    // Drain stderr (a full pipe would stall the server) and keep it for failure messages.
    transport.stderr?.on('data', (chunk: Buffer) => {
      proc.stderr += chunk.toString();
    });
    await proc.client.connect(transport);
    return proc;
  }

  get pid(): number {
    const pid = this.transport.pid;
    if (pid === null) throw new Error('loom mcp is not running');
    return pid;
  }

  /** The spawned child (private in the SDK): to close its stdin alone, without the SDK's SIGTERM fallback. */
  get child(): ChildProcess {
    return (this.transport as unknown as { _process: ChildProcess })._process;
  }

  async call(name: string, args: Record<string, unknown> = {}): Promise<ToolCall> {
    const r = await this.client.callTool({ name, arguments: args });
    const content = r.content as Array<{ type: string; text: string }>;
    const text = content[0]?.text ?? '';
    return { isError: r.isError === true, data: (r.structuredContent ?? {}) as Record<string, any>, json: JSON.parse(text), text };
  }

  /** The call's result; throws with the tool's error (and the server's stderr) when it is one. */
  async ok(name: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const r = await this.call(name, args);
    if (r.isError) throw new Error(`${name} ${JSON.stringify(args)} failed: ${r.text}\nstderr:\n${this.stderr}`);
    return r.data;
  }

  /** Resolves with the first event matching `pred` (already received or still to come). */
  async waitForEvent(pred: (e: TaskEvent) => boolean, timeoutMs = 60_000): Promise<TaskEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching task event within ${timeoutMs} ms; got ${this.events.length}: ${JSON.stringify(this.events.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

