import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError, type GetPromptResult, type ListPromptsResult } from '#mcp-sdk';
import { LoomError } from '../../domain/errors.js';
import { TASK_ID_PATTERN } from '../../domain/task.js';
import type { LoomApi, SkillList } from '../../ports/loom-api.js';
import { toToolError } from './present.js';
import { onRawRequest } from './raw-request.js';

const TASK_ID_ARGUMENT = {
  name: 'task_id',
  description: 'A task id (loom-1a2b3c4d): the text then includes the task, its dependencies\' outputs and its epic, and the use is recorded',
  required: false,
};

/** Bad params and Loom's coded refusals become InvalidParams with the message and hint; the rest is an internal error. */
function asMcpError(error: unknown, log: (line: string) => void, where: string): McpError {
  if (error instanceof McpError) return error;
  const e = toToolError(error, log, where);
  const text = `${e.code}: ${e.message}${e.hint === undefined ? '' : ` (${e.hint})`}`;
  return new McpError(e.code === 'INTERNAL' || e.code === 'DATABASE_UNAVAILABLE' || e.code === 'DAEMON_UNAVAILABLE' ? ErrorCode.InternalError : ErrorCode.InvalidParams, text);
}

/**
 * Every skill is an MCP prompt (Claude Code shows them as slash commands),
 * with an optional task_id argument. Params are checked here, in words a
 * model can act on.
 */
export function registerPrompts(
  server: Server,
  o: { api: LoomApi; project_id: string; agentId: () => string; log: (line: string) => void; listSkills?: () => Promise<SkillList> },
): void {
  onRawRequest(server, 'prompts/list', async (): Promise<ListPromptsResult> => {
    try {
      const { skills } = await (o.listSkills?.() ?? o.api.skills({ project_id: o.project_id }));
      return {
        prompts: skills.map((s) => ({
          name: s.name,
          description: s.description,
          arguments: [...s.arguments.map((a) => ({ name: a.name, ...(a.description === undefined ? {} : { description: a.description }), required: a.required })), TASK_ID_ARGUMENT],
        })),
      };
    } catch (error) {
      throw asMcpError(error, o.log, 'prompts/list');
    }
  });

  onRawRequest(server, 'prompts/get', async (request): Promise<GetPromptResult> => {
    try {
      const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
      if (typeof params.name !== 'string' || params.name === '') {
        throw new McpError(ErrorCode.InvalidParams, 'prompts/get needs params.name, a prompt name from prompts/list');
      }
      const given = params.arguments ?? {};
      if (typeof given !== 'object' || given === null || Array.isArray(given)) {
        throw new McpError(ErrorCode.InvalidParams, `prompts/get arguments must be an object of named string values, e.g. {"task_id": "loom-1a2b3c4d"}`);
      }
      const entries: Array<[string, string]> = [];
      let taskId: string | undefined;
      for (const [k, v] of Object.entries(given)) {
        if (typeof v !== 'string') throw new McpError(ErrorCode.InvalidParams, `prompts/get argument ${k.slice(0, 64)} must be a string, got ${v === null ? 'null' : typeof v}`);
        if (k === 'task_id') {
          if (v === '') continue; // a client may send every listed argument, empty when not filled in
          if (!TASK_ID_PATTERN.test(v)) throw new McpError(ErrorCode.InvalidParams, `task_id must be a task id like loom-1a2b3c4d, got ${JSON.stringify(v.slice(0, 40))}`);
          taskId = v;
        } else entries.push([k, v]);
      }
      const args: Record<string, string> = Object.fromEntries(entries); // own properties, even for a key like __proto__
      const r = await o.api.renderSkill({
        project_id: o.project_id,
        name: params.name,
        ...(taskId === undefined ? {} : { task_id: taskId, agent_id: o.agentId() }),
        ...(Object.keys(args).length === 0 ? {} : { arguments: args }),
      });
      return {
        description: `${r.name} ${r.version} (${r.source})${r.run_id === undefined ? '' : `, run ${r.run_id}`}`,
        messages: [{ role: 'user', content: { type: 'text', text: r.text } }],
      };
    } catch (error) {
      if (LoomError.is(error) || !(error instanceof McpError)) throw asMcpError(error, o.log, 'prompts/get');
      throw error;
    }
  });
}

/** Tells the client the prompt list changed (an edited skill file). */
export async function notifyPromptsChanged(server: Server): Promise<void> {
  await server.sendPromptListChanged();
}
