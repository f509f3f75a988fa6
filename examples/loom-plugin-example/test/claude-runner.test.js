// Runs with plain `node --test`: the runner module needs nothing from Loom at run time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claudeCommand, claudePrompt } from '../src/claude-runner.js';

/** @returns {import('loom-agents/plugin').RunnerJob} */
const job = (over = {}) => ({
  task: { id: 'loom-1a2b3c4d', title: 'Fix the login redirect', priority: 'p1', context: { issue: 42 }, done_when: 'the redirect test passes', labels: [], parent_id: null, attempt: 1, max_attempts: 3, ...over },
  agentId: 'runner-host-1-0',
  projectId: 'prj-000000000001',
  projectDir: '/src/app',
});

test('builds claude -p with the prompt as one argument (no shell), and JSON output', () => {
  const { argv, env } = claudeCommand(job({ title: `it's "quoted"; $(rm -rf /)` }), {});
  assert.equal(argv[0], 'claude');
  assert.equal(argv[1], '-p');
  assert.match(argv[2], /Loom task loom-1a2b3c4d \(attempt 1 of 3\): it's "quoted"; \$\(rm -rf \/\)/);
  assert.deepEqual(argv.slice(3), ['--output-format', 'json']);
  assert.equal(env, undefined);
});

test('adds the options it was given', () => {
  const { argv } = claudeCommand(job(), { model: 'sonnet', max_turns: 20, allowed_tools: ['Edit', 'Bash(npm test:*)'], claude: '/opt/claude/bin/claude' });
  assert.equal(argv[0], '/opt/claude/bin/claude');
  assert.deepEqual(argv.slice(3), ['--output-format', 'json', '--model', 'sonnet', '--max-turns', '20', '--allowedTools', 'Edit', 'Bash(npm test:*)']);
});

test('the prompt says when the task is done and how to report, and cuts a large context', () => {
  const prompt = claudePrompt(job());
  assert.match(prompt, /It is done when: the redirect test passes/);
  assert.match(prompt, /"issue": 42/);
  assert.match(prompt, /loom fail \$LOOM_TASK_ID --token \$LOOM_LEASE_TOKEN/);
  const big = claudePrompt(job({ context: { log: 'x'.repeat(20000) }, done_when: null }));
  assert.match(big, /\(cut: run `loom show loom-1a2b3c4d` for all of it\)/);
  assert.ok(big.length < 9000);
  assert.doesNotMatch(big, /It is done when/);
});
