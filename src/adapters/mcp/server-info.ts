/**
 * What `loom mcp` answers to `initialize`, in a module that loads nothing:
 * the early stdio reader (early-stdio.ts) answers from it before the SDK and
 * the tools are loaded, and the SDK server is built from the same values.
 */

export const SERVER_NAME = 'loom';

export const SERVER_CAPABILITIES = {
  tools: {},
  logging: {},
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: false },
} as const;

export const INSTRUCTIONS =
  'Loom is the task graph this team of agents shares. Work loop: loom_ready or loom_claim -> do the work ' +
  '(loom_heartbeat on long work) -> loom_done or loom_fail. This session remembers your leases. ' +
  'Read loom_inbox now and then; loom_escalate when only a human can unblock you; loom_recover after losing context.';

/**
 * The SDK's LATEST_PROTOCOL_VERSION and SUPPORTED_PROTOCOL_VERSIONS, copied so that reading them does
 * not load the SDK's schemas (~0.15 s); a test holds them equal to the SDK's.
 */
export const LATEST_PROTOCOL_VERSION = '2025-11-25';
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [LATEST_PROTOCOL_VERSION, '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];

/** The SDK server's answer to `initialize` (Server._oninitialize), for the protocol version the client asked for. */
export function initializeResult(requestedVersion: unknown, version: string): Record<string, unknown> {
  const protocolVersion = typeof requestedVersion === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requestedVersion) ? requestedVersion : LATEST_PROTOCOL_VERSION;
  return { protocolVersion, capabilities: SERVER_CAPABILITIES, serverInfo: { name: SERVER_NAME, version }, instructions: INSTRUCTIONS };
}
