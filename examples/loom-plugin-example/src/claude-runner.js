// A runner type: Claude Code, headless (`claude -p`), on each task `loom orchestrate --runner example/claude` claims.
// It only builds the command; Loom starts it in a process group of its own, heartbeats the lease while it runs,
// and records the outcome: exit 0 is done, with Claude's JSON result as the task's output (and its cost as usage).

/**
 * @typedef {object} ClaudeOptions
 * @property {string} [model]          `--model` (e.g. sonnet, opus)
 * @property {number} [max_turns]      `--max-turns`
 * @property {string[]} [allowed_tools] `--allowedTools` (e.g. ["Bash(npm test:*)", "Edit"])
 * @property {string} [claude]         the program (default: claude, from the PATH)
 */

export const CLAUDE_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,100}$' },
    max_turns: { type: 'integer', minimum: 1, maximum: 500 },
    allowed_tools: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 } },
    claude: { type: 'string', minLength: 1, maxLength: 4096 },
  },
};

/** How much of the task's context goes into the prompt; the agent can read it whole with `loom show`. */
const CONTEXT_LIMIT = 8000;

/**
 * The prompt: the task, how to tell it is done, and how to report.
 * @param {import('loom-agents/plugin').RunnerJob} job
 */
export function claudePrompt(job) {
  const t = job.task;
  let context = JSON.stringify(t.context, null, 2);
  if (context.length > CONTEXT_LIMIT) context = `${context.slice(0, CONTEXT_LIMIT)}\n... (cut: run \`loom show ${t.id}\` for all of it)`;
  return [
    `You are agent ${job.agentId}, working on Loom task ${t.id} (attempt ${t.attempt} of ${t.max_attempts}): ${t.title}`,
    t.done_when === null ? '' : `It is done when: ${t.done_when}`,
    context === '{}' ? '' : `Context:\n${context}`,
    'Do the work in this repository. When you are done, end with a short summary of what you changed.',
    'If you cannot finish, say why and run: loom fail $LOOM_TASK_ID --token $LOOM_LEASE_TOKEN --reason "<why>"',
  ]
    .filter((line) => line !== '')
    .join('\n\n');
}

/**
 * @param {import('loom-agents/plugin').RunnerJob} job
 * @param {ClaudeOptions} options checked against CLAUDE_OPTIONS_SCHEMA by Loom
 * @returns {import('loom-agents/plugin').RunnerCommand}
 */
export function claudeCommand(job, options) {
  const argv = [options.claude ?? 'claude', '-p', claudePrompt(job), '--output-format', 'json'];
  if (options.model !== undefined) argv.push('--model', options.model);
  if (options.max_turns !== undefined) argv.push('--max-turns', String(options.max_turns));
  if (options.allowed_tools !== undefined && options.allowed_tools.length > 0) argv.push('--allowedTools', ...options.allowed_tools);
  return { argv };
}
