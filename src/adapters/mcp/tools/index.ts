import { LoomError } from '../../../domain/errors.js';
import { loomAgents, loomDlq, loomEscalations, loomFsck, loomHold, loomRedrive, loomResolve, loomResume, loomTick } from './admin.js';
import { loomInbox, loomMessage } from './messages.js';
import { loomDecompose, loomRunWorkflow, loomSkill, loomSkills } from './planning.js';
import { loomCreate, loomEscalate, loomGraph, loomStatus, loomUpdate } from './tasks.js';
import type { LoomTool } from './tool.js';
import { loomClaim, loomDone, loomFail, loomHeartbeat, loomReady, loomRecover } from './work.js';

/** Every tool Loom offers over MCP, in the order they are listed. */
export const ALL_TOOLS: readonly LoomTool[] = [
  loomReady,
  loomClaim,
  loomHeartbeat,
  loomDone,
  loomFail,
  loomRecover,
  loomCreate,
  loomUpdate,
  loomStatus,
  loomGraph,
  loomEscalate,
  loomMessage,
  loomInbox,
  loomSkills,
  loomSkill,
  loomDecompose,
  loomRunWorkflow,
  loomDlq,
  loomRedrive,
  loomEscalations,
  loomResolve,
  loomHold,
  loomResume,
  loomAgents,
  loomTick,
  loomFsck,
];

/** The groups offered when config mcp.tools is not set. */
export const DEFAULT_TOOL_GROUPS: readonly string[] = ['core', 'planning'];

export const TOOL_GROUPS: readonly string[] = [...new Set(ALL_TOOLS.map((t) => t.group))];

/** The tools of the configured groups; an unknown group is a config error, not silently nothing. */
export function toolsOf(groups: readonly string[]): LoomTool[] {
  const unknown = groups.filter((g) => !TOOL_GROUPS.includes(g));
  if (unknown.length > 0) {
    throw new LoomError('CONFIG_INVALID', `unknown MCP tool group ${unknown.join(', ')}`, {
      hint: `mcp.tools may list: ${TOOL_GROUPS.join(', ')}`,
      details: { groups: unknown },
    });
  }
  return ALL_TOOLS.filter((t) => groups.includes(t.group));
}
