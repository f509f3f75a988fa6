import { defineTool, int, obj, READ_ONLY, SAFE_WRITE, text } from './tool.js';

/** Agents talk to each other through persisted messages. */

export const loomMessage = defineTool<{ to: string; message: string; thread_id?: string }>({
  name: 'loom_message',
  group: 'core',
  description: 'Send a message to another agent (to: its agent id) or to every agent (to: "*"). Kept until read.',
  inputSchema: obj(
    { to: text(200, 'Agent id, or "*" for all'), message: text(20000), thread_id: text(200, 'Groups a conversation') },
    ['to', 'message'],
  ),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const message = await ctx.api.sendMessage({
      project_id: ctx.project_id,
      from_agent: ctx.session.agentId,
      to_agent: args.to,
      body: args.message,
      ...(args.thread_id === undefined ? {} : { thread_id: args.thread_id }),
    });
    return { message };
  },
});

export const loomInbox = defineTool<{ since?: number; limit?: number }>({
  name: 'loom_inbox',
  group: 'core',
  description: 'Your unread messages (direct and broadcast), oldest first; reading marks them read.',
  inputSchema: obj({ since: int(0, Number.MAX_SAFE_INTEGER, 'Only messages with a greater id'), limit: int(1, 500, 'Default 50') }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const agent_id = ctx.session.agentId;
    return { agent_id, messages: await ctx.api.inbox({ ...args, project_id: ctx.project_id, agent_id }) };
  },
});
