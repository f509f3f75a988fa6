import { Protocol, type RequestHandlerExtra } from '#mcp-sdk';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

/** A request as it came off the wire: Loom checks its params itself. */
export interface RawRequest {
  method: string;
  params?: Record<string, unknown> | unknown;
}

/** What the SDK passes a handler besides the request: its id, its abort signal... */
export type RawRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Registers a handler that receives the request unchecked. The SDK parses
 * every request against its schema first and answers a mismatch (say
 * `arguments: [1]`) with a JSON-RPC error carrying the schema library's raw
 * issue list; a model cannot act on that. The handler here validates the
 * params with Loom's own checks and says what to change.
 *
 * The SDK accepts any schema with a v3-style `shape.method` literal and a
 * `safeParse`; this one accepts everything. It goes through Protocol's
 * registration, past Server's extra tools/call wrapper (which would parse
 * the params again).
 */
export function onRawRequest(server: Server, method: string, handler: (request: RawRequest, extra: RawRequestExtra) => Promise<unknown>): void {
  const acceptAll = {
    shape: { method: { _def: { value: method } } },
    safeParse: (data: unknown) => ({ success: true as const, data }),
  };
  const register = Protocol.prototype.setRequestHandler as (this: Server, schema: unknown, h: (r: RawRequest, extra: RawRequestExtra) => Promise<unknown>) => void;
  register.call(server, acceptAll, handler);
}
