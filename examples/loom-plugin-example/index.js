// The plugin's code entry (package.json `loom.main`). Loom imports it only when
// the user trusts the plugin (`loom plugins trust example`, or `plugins.trust: [example]` in a config file); the skills and
// workflows load without it.
import { definePlugin } from 'loom-agents/plugin';
import { JSONL_OPTIONS_SCHEMA, JsonlNotifier } from './src/jsonl-notifier.js';

/** @type {import('loom-agents/plugin').NotifierType<import('./src/jsonl-notifier.js').JsonlOptions>} */
const jsonl = {
  type: 'jsonl',
  description: 'Appends each routed event to a file as one JSON line',
  optionsSchema: JSONL_OPTIONS_SCHEMA,
  // Loom has validated the options against optionsSchema before this runs.
  create: (options, ctx) => new JsonlNotifier(options, ctx),
};

export default definePlugin({ id: 'example', notifiers: [jsonl] });
