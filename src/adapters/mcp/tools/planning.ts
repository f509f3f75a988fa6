import { defineTool, obj, READ_ONLY, SAFE_WRITE, taskId } from './tool.js';

/** Skills: the team's prompt templates, for clients without MCP prompt support (and to see what fits a task). */

const skillName = { type: 'string', pattern: '^([a-z][a-z0-9-]{0,63}/)?[a-z][a-z0-9_-]{0,63}$', description: 'A skill name from loom_skills' };

export const loomSkills = defineTool<{ task_id?: string }>({
  name: 'loom_skills',
  group: 'planning',
  description: 'List the skills (prompt templates: how this team writes specs, reviews, debugs...). With task_id, those suggested for that task come first (suggested: true). Use one with loom_skill.',
  inputSchema: obj({ task_id: taskId('Put the skills suggested for this task first') }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const list = await ctx.api.skills({ project_id: ctx.project_id, ...args });
    return { ...list };
  },
});

export const loomSkill = defineTool<{ name: string; task_id?: string; arguments?: Record<string, string> }>({
  name: 'loom_skill',
  group: 'planning',
  description:
    'Render a skill and follow the text it returns. With task_id the text includes the task, its dependencies\' outputs (what the tasks before it produced) and its epic, and the use is recorded.',
  inputSchema: obj(
    {
      name: skillName,
      task_id: taskId('The task you work on'),
      arguments: { type: 'object', additionalProperties: { type: 'string' }, description: 'The skill\'s arguments by name (strings), as loom_skills lists them' },
    },
    ['name'],
  ),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    return {
      ...(await ctx.api.renderSkill({
        project_id: ctx.project_id,
        name: args.name,
        ...(args.task_id === undefined ? {} : { task_id: args.task_id, agent_id: ctx.session.agentId }),
        ...(args.arguments === undefined ? {} : { arguments: args.arguments }),
      })),
    };
  },
});
