// The plugin's code entry (package.json `loom.main`). Loom imports it only when
// the user trusts the plugin (`loom plugins trust example`, or `plugins.trust: [example]` in a config file); the skills and
// workflows load without it.
import { definePlugin } from 'loom-agents/plugin';
import { CLAUDE_OPTIONS_SCHEMA, claudeCommand } from './src/claude-runner.js';
import { JSONL_OPTIONS_SCHEMA, JsonlNotifier } from './src/jsonl-notifier.js';

/** @type {import('loom-agents/plugin').NotifierType<import('./src/jsonl-notifier.js').JsonlOptions>} */
const jsonl = {
  type: 'jsonl',
  description: 'Appends each routed event to a file as one JSON line',
  optionsSchema: JSONL_OPTIONS_SCHEMA,
  // Loom has validated the options against optionsSchema before this runs.
  create: (options, ctx) => new JsonlNotifier(options, ctx),
};

/** @type {import('loom-agents/plugin').RunnerType<import('./src/claude-runner.js').ClaudeOptions>} */
const claude = {
  type: 'claude',
  description: 'Runs Claude Code headless (claude -p) on the task, with its JSON result as the output',
  optionsSchema: CLAUDE_OPTIONS_SCHEMA,
  // Called for each claimed task; Loom starts the command it returns (no shell) and records the outcome.
  command: claudeCommand,
};

export default definePlugin({ id: 'example', notifiers: [jsonl], runners: [claude] });
