import { LoomError } from '../../../domain/errors.js';
import type { JsonObject } from '../../../domain/task.js';
import type { DecomposeInput } from '../../../ports/loom-api.js';
import { planFromReply } from '../sampling.js';
import { defineTool, jsonObject, obj, READ_ONLY, SAFE_WRITE, taskId, text, type ToolContext } from './tool.js';

/** Skills: the team's prompt templates, for clients without MCP prompt support (and to see what fits a task). */

const skillName = { type: 'string', pattern: '^([a-z][a-z0-9-]{0,63}/)?[a-z][a-z0-9_-]{0,63}$', description: 'A skill name from loom_skills' };

export const loomSkills = defineTool<{ task_id?: string }>({
  name: 'loom_skills',
  group: 'planning',
  description: 'The skills (prompt templates: how this team writes specs, reviews, debugs). With task_id, those suggested for it come first (suggested: true). Use one with loom_skill.',
  inputSchema: obj({ task_id: taskId() }),
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
    'Render a skill and follow its text. With task_id it includes the task, its dependencies\' outputs and its epic, and the use is recorded.',
  inputSchema: obj(
    {
      name: skillName,
      task_id: taskId('The task you work on'),
      arguments: { type: 'object', additionalProperties: { type: 'string' }, description: 'By name (strings), as loom_skills lists them' },
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

type DecomposeArgs = Omit<DecomposeInput, 'project_id' | 'agent_id'> & { auto?: boolean };

const flag = (description: string) => ({ type: 'boolean', description });

export const loomDecompose = defineTool<DecomposeArgs>({
  name: 'loom_decompose',
  group: 'planning',
  description:
    'Break a goal, spec file or epic into a wired task graph. Nothing is written without apply. No plan: the ' +
    'decompose_project skill and plan_schema. With plan: a dry run (plan_hash). apply:true + plan_hash: writes it, once. ' +
    'auto:true: your model writes the plan.',
  inputSchema: obj({
    goal: text(20_000, 'What to achieve'),
    spec_path: text(1000, 'Spec file, relative to the project'),
    epic_id: taskId('Epic to break down'),
    plan: jsonObject('Matches plan_schema; omit to get it'),
    allow_flat: flag('Accept over 3 tasks with no edges'),
    apply: flag('Write it; needs plan_hash'),
    plan_hash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'From the dry run' },
    include_file_tree: flag('No plan: add the file tree to the skill'),
    constraints: text(20_000, 'No plan: limits to respect'),
    auto: flag('No plan: your client\'s model writes it'),
  }),
  annotations: { ...SAFE_WRITE, idempotentHint: true },
  async run(args, ctx) {
    const { auto, ...input } = args;
    const call = { ...input, project_id: ctx.project_id, agent_id: ctx.session.agentId };
    if (auto === true) return decomposeBySampling(call, ctx);
    return { ...(await ctx.api.decompose(call)) };
  },
});

const BY_HAND =
  'decompose by hand: call loom_decompose without auto (same goal, spec_path or epic_id) for the skill and plan_schema, write the plan as the skill says, then call loom_decompose with that plan for a dry run';

const SYSTEM_PROMPT =
  'You write task plans for Loom. Answer with only the JSON plan the user message asks for: one JSON object matching its output format, no prose, no code fences.';

const quote = (s: string, max = 200): string => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);

/**
 * auto: the client's own model writes the plan (MCP sampling), and Loom
 * dry-runs it. Never applied here: the agent reads the dry run and applies
 * the returned plan itself.
 */
async function decomposeBySampling(input: DecomposeInput, ctx: ToolContext): Promise<Record<string, unknown>> {
  const extra = (['plan', 'apply', 'plan_hash'] as const).filter((k) => input[k] !== undefined);
  if (extra.length > 0) {
    throw new LoomError('VALIDATION_FAILED', `auto: true writes the plan itself and only dry-runs it: it does not take ${extra.join(', ')}`, {
      hint: 'to dry-run or apply a plan you have, call loom_decompose without auto; to have one written, call with auto: true and only goal, spec_path or epic_id (and include_file_tree, constraints, allow_flat). Nothing was written',
      details: { fields: extra },
    });
  }
  if (!ctx.sampling.available) {
    throw new LoomError('SAMPLING_UNSUPPORTED', 'auto: true needs MCP sampling (the server asking your client\'s model), and this client did not offer it', {
      hint: BY_HAND,
    });
  }
  const prompt = await ctx.api.decompose(input);
  if (prompt.stage !== 'plan_needed') throw new Error(`loom_decompose without a plan answered ${prompt.stage}`);
  let reply;
  try {
    reply = await ctx.sampling.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: prompt.skill.text } }],
      systemPrompt: SYSTEM_PROMPT,
      maxTokens: 16_000,
      includeContext: 'none',
    });
  } catch (error) {
    throw new LoomError('SAMPLING_UNSUPPORTED', `the client did not answer the sampling request: ${error instanceof Error ? error.message : String(error)}`, {
      hint: `it may have been declined or timed out; ${BY_HAND}`,
      cause: error,
    });
  }
  const text = reply.content.type === 'text' ? reply.content.text : '';
  const plan = planFromReply(text);
  if (plan === undefined) {
    throw new LoomError('VALIDATION_FAILED', `your client's model did not answer with a JSON plan; its reply began ${quote(text === '' ? `<${reply.content.type} content>` : text)}`, {
      hint: `${BY_HAND}. Nothing was written`,
      details: { model: reply.model },
    });
  }
  let dry;
  try {
    dry = await ctx.api.decompose({ ...input, plan });
  } catch (error) {
    if (!LoomError.is(error) || error.code === 'INTERNAL') throw error;
    // The agent never saw this plan: it can only start again, by hand or with auto.
    throw new LoomError(error.code, `the plan your client's model wrote was refused: ${error.message}`, {
      hint: `call with auto: true again, or ${BY_HAND}. Nothing was written`,
      ...(error.details === undefined ? {} : { details: error.details }),
      cause: error,
    });
  }
  if (dry.stage !== 'dry_run') throw new Error(`loom_decompose with a plan answered ${dry.stage}`);
  return {
    ...dry,
    sampled: true,
    model: reply.model,
    plan,
    next: `Nothing was written. This plan was written by ${reply.model}: check the tasks, the waves and the warnings. To write it: loom_decompose with the same ${input.goal !== undefined ? 'goal' : input.spec_path !== undefined ? 'spec_path' : 'epic_id'}, plan: <plan above>${input.allow_flat === true ? ', allow_flat: true' : ''}, apply: true, plan_hash: '${dry.plan_hash}'. To change it, edit the plan and dry-run it without auto.`,
  };
}

/** Workflows: the team's task-graph templates, started and followed with one tool. */

interface RunWorkflowArgs {
  name?: string;
  inputs?: JsonObject;
  dry_run?: boolean;
  parent_id?: string;
  run_key?: string;
  run_id?: number;
}

const RECENT_RUNS = 10;

/** The use cases' hints name CLI commands; a model gets the same advice in terms of this tool. */
const CLI_TO_TOOL: Array<[RegExp, string]> = [
  [/`?loom workflow list`?/g, 'loom_run_workflow without name'],
  [/`?loom workflow runs`?/g, 'loom_run_workflow without name (runs)'],
  [/`?loom workflow run NAME --dry-run`?/g, 'loom_run_workflow with dry_run: true'],
  [/--input (\w+)=\.\.\. \(MCP: inputs\.\w+\)/g, 'inputs.$1'],
];

async function withToolHints<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!LoomError.is(error) || error.hint === undefined) throw error;
    const hint = CLI_TO_TOOL.reduce((h, [cli, tool]) => h.replace(cli, tool), error.hint);
    if (hint === error.hint) throw error;
    throw new LoomError(error.code, error.message, { hint, ...(error.details === undefined ? {} : { details: error.details }), cause: error });
  }
}

export const loomRunWorkflow = defineTool<RunWorkflowArgs>({
  name: 'loom_run_workflow',
  group: 'planning',
  description:
    'Run a team workflow (a whole job: an epic and its wired tasks). No name: lists the workflows, inputs, recent runs. ' +
    'With name: dry_run: true first, then run; tasks appear in loom_ready. The same run_key twice is one run. run_id alone: its status.',
  inputSchema: obj({
    name: text(200, 'From the list'),
    inputs: jsonObject('By input name'),
    dry_run: flag('Show the tasks only'),
    parent_id: taskId('Epic to run under'),
    run_key: text(200),
    run_id: { type: 'integer', minimum: 1 },
  }),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const p = ctx.project_id;
    const { name, run_id, ...rest } = args;
    if (run_id !== undefined) {
      const extra = Object.keys(args).filter((k) => k !== 'run_id');
      if (extra.length > 0) {
        throw new LoomError('VALIDATION_FAILED', `run_id shows a run and takes nothing else; got ${extra.join(', ')} too`, {
          hint: 'call with only run_id for that run\'s status, or without run_id (name, inputs...) to start a run. Nothing was written',
        });
      }
      const run = await withToolHints(() => ctx.api.workflowRun({ project_id: p, run_id }));
      return { ...run };
    }
    if (name === undefined) {
      const extra = Object.keys(rest);
      if (extra.length > 0) {
        throw new LoomError('VALIDATION_FAILED', `${extra.join(', ')} needs name: which workflow to run`, {
          hint: 'call loom_run_workflow without arguments to list the workflows, then with name (and inputs). Nothing was written',
        });
      }
      const [list, runs] = await Promise.all([ctx.api.workflows({ project_id: p }), ctx.api.workflowRuns({ project_id: p, limit: RECENT_RUNS })]);
      return {
        workflows: list.workflows.map((w) => ({ name: w.name, description: w.description, source: w.source, inputs: w.inputs, steps: w.steps.map((s) => s.id) })),
        problems: list.problems,
        runs,
        next: 'Dry-run one: loom_run_workflow {name, inputs: {...}, dry_run: true}',
      };
    }
    const result = await withToolHints(() => ctx.api.runWorkflow({ project_id: p, name, ...rest, agent_id: ctx.session.agentId }));
    if (result.stage === 'dry_run') {
      return { ...result, next: 'Nothing was written. To start it, call again without dry_run (a run_key makes a retry safe: the same key is one run).' };
    }
    return {
      ...result,
      next: `${result.created ? 'Started: its first tasks are now in loom_ready' : 'This run_key already had this run: nothing new was written'}. Its status: loom_run_workflow {run_id: ${result.run_id}}.`,
    };
  },
});
