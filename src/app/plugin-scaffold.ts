import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LoomError } from '../domain/errors.js';
import { PLUGIN_API_VERSION } from '../plugins/api-version.js';
import { checkPluginPackage, PLUGIN_ID_PATTERN } from '../plugins/host/manifest.js';
import { parseSkillFile } from './skills/skill-file.js';
import { parseWorkflowFile } from './workflows/workflow-file.js';

/**
 * The vitest a new plugin's tests pin: the one Loom itself is tested with (a
 * unit test keeps the two equal), known to run on Loom's Node range.
 */
export const SCAFFOLD_VITEST_VERSION = '4.1.12';

/** `^<major>.<minor>.0` of the plugin API: any later minor of the same major admits the plugin. */
export const scaffoldApiRange = (api: string = PLUGIN_API_VERSION): string => {
  const [major, minor] = api.split('.');
  return `^${major}.${minor}.0`;
};

/**
 * The files of a new plugin package, by path relative to its folder. With
 * `loomLink` (the folder of the running Loom), `loom-agents` is also a
 * devDependency on that folder: Loom is not on the npm registry, so the peer's
 * `^version` alone makes the package's `npm install` fail (404), and the tests
 * then run against the Loom that will load the plugin. (Once Loom is published,
 * a Loom installed from the registry need not be linked.)
 */
export function pluginScaffoldFiles(id: string, loomVersion: string, loomLink: string | null = null): Record<string, string> {
  const pkg = `loom-plugin-${id}`;
  const packageJson = {
    name: pkg,
    version: '0.1.0',
    description: `A Loom plugin: the ${id}/hello skill and workflow, a JSONL file notifier and a runner.`,
    keywords: ['loom-plugin'],
    license: 'MIT',
    type: 'module',
    exports: './index.js',
    files: ['index.js', 'skills', 'workflows', 'README.md'],
    loom: { apiVersion: scaffoldApiRange(), id, skills: 'skills', workflows: 'workflows', main: 'index.js' },
    // check: Loom's own check of the package, as it loads plugins (loom-agents' bin, from the devDependency)
    scripts: { test: 'vitest run', check: 'loom plugins check --code' },
    engines: { node: '>=20.19' },
    peerDependencies: { 'loom-agents': `^${loomVersion}` },
    devDependencies: { ...(loomLink === null ? {} : { 'loom-agents': `file:${loomLink}` }), vitest: SCAFFOLD_VITEST_VERSION },
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'README.md': readme(id, pkg, loomLink),
    'index.js': indexJs(id),
    'skills/hello.md': skill(id),
    'workflows/hello.yaml': workflow(id),
    'test/plugin.test.js': testJs(id),
    '.gitignore': 'node_modules/\n*.tgz\n',
  };
}

function readme(id: string, pkg: string, loomLink: string | null): string {
  const linked =
    loomLink === null
      ? ''
      : `
\`devDependencies\` links \`loom-agents\` to the Loom this package was made with (\`file:${loomLink}\`), so
\`npm install\` works while that Loom is not on the npm registry, and the tests run against the Loom that
will load the plugin. Someone else points it at their own Loom with \`npm i -D loom-agents@file:PATH\`
(or \`npm i -D loom-agents@^VERSION\` once it is on npm). People who install the published plugin never
get its devDependencies: they use their own Loom (the peer dependency).
`;
  return `# ${pkg}

A [Loom](https://www.npmjs.com/package/loom-agents) plugin. It contributes:

- the skill \`${id}/hello\` (\`skills/hello.md\`),
- the workflow \`${id}/hello\` (\`workflows/hello.yaml\`),
- the notifier type \`${id}/jsonl\` (\`index.js\`): appends each event routed to it to a file, one JSON line each;
- the runner \`${id}/script\` (\`index.js\`): \`loom orchestrate --runner ${id}/script --runner-options '{"script": "scripts/agent.mjs"}'\`
  runs \`node SCRIPT TASK_ID TITLE\` for each ready task (the script reports by its exit code and stdout, or with \`loom done\`).

## Develop

\`\`\`sh
npm install
npm test
npm run check    # loom plugins check --code: the package as Loom loads it (manifest, skills and workflows with file and line, code)
\`\`\`
${linked}
Try it in a Loom project without publishing: add this folder to the project's \`.loom/config.yaml\`

\`\`\`yaml
plugins:
  paths: [../${pkg}]   # relative to the project
\`\`\`

then \`loom plugins list\`, \`loom skills show ${id}/hello\`, \`loom workflow show ${id}/hello\`.
After changing the plugin, \`loom daemon stop\` (the next command starts a daemon that reads it again).

## Trust

Skills and workflows are files: Loom serves them without running anything. The notifier is code
(\`loom.main\`): it runs only once the user trusts the plugin:

\`\`\`sh
loom plugins trust ${id}
\`\`\`

and routes events to it in the config:

\`\`\`yaml
notifications:
  notifiers:
    - { name: audit, type: ${id}/jsonl, path: .loom/events.jsonl }
  routes:
    - { notifier: audit, events: ["*"] }
\`\`\`

## Publish

\`\`\`sh
npm test
npm run check
npm pack --dry-run      # check the files that ship (package.json "files")
npm publish
\`\`\`

Users install it with \`loom plugins add ${pkg}\` (their own plugin folder) or \`npm i -D ${pkg}\` (a project).
`;
}

function indexJs(id: string): string {
  return `// The plugin's code entry (package.json \`loom.main\`). Loom imports it only
// when the user trusts the plugin (\`loom plugins trust ${id}\`); the skills and
// workflows are served without it.
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { definePlugin } from 'loom-agents/plugin';

/** @type {import('loom-agents/plugin').NotifierType<{ path: string }>} */
const jsonl = {
  type: 'jsonl',
  description: 'Appends each routed event to a file as one JSON line',
  optionsSchema: {
    type: 'object',
    properties: { path: { type: 'string', minLength: 1, description: 'The file, relative to the project' } },
    required: ['path'],
    additionalProperties: false,
  },
  // Loom has validated the options against optionsSchema before this runs.
  create(options, ctx) {
    const file = resolve(ctx.projectDir, options.path);
    // One write at a time, in order: each event is one whole line.
    let queue = mkdir(dirname(file), { recursive: true }).then(() => undefined);
    return {
      name: ctx.name,
      notify(event) {
        queue = queue.then(() => appendFile(file, JSON.stringify(event) + '\\n')).catch((e) => ctx.log(\`cannot write \${file}: \${e.message}\`));
        return Promise.resolve();
      },
      close: () => queue,
    };
  },
};

/**
 * A runner: \`loom orchestrate --runner ${id}/script\` hands each ready task to a Node script
 * of the project. It only builds the command; Loom starts it (no shell), heartbeats the
 * task's lease while it runs, and records done (exit 0, stdout as the output) or a failure.
 * @type {import('loom-agents/plugin').RunnerType<{ script: string }>}
 */
const script = {
  type: 'script',
  description: 'Runs node SCRIPT TASK_ID TITLE in the project for each ready task',
  optionsSchema: {
    type: 'object',
    properties: { script: { type: 'string', minLength: 1, description: 'The script, relative to the project' } },
    required: ['script'],
    additionalProperties: false,
  },
  // Called for each claimed task (and once at start with a sample task); must only build the command.
  command: (job, options) => ({
    argv: [process.execPath, options.script, job.task.id, job.task.title],
    env: { TASK_ATTEMPT: String(job.task.attempt) }, // LOOM_* and PATH are Loom's own
  }),
};

export default definePlugin({ id: '${id}', notifiers: [jsonl], runners: [script] });
`;
}

function skill(id: string): string {
  return `---
name: hello
description: A first skill of the ${id} plugin - greet the task and say what done looks like
version: 0.1.0
arguments:
  - { name: tone, description: "How to write (e.g. brief, friendly)", required: false, default: brief }
tags: [${id}]
suggested_for: [pending]
---
# Hello from ${id}

{% if task %}Task {{ task.id }}: **{{ task.title }}**.{% if task.done_when %} Done when: {{ task.done_when }}{% endif %}
Context: {{ task.context | json }}
{% else %}Project: {{ project.name }}.
{% endif %}Write in a {{ tone }} tone.

{% if task %}When you are done: \`loom_done {task_id: '{{ task.id }}', output: {summary: '...'}}\`.
{% endif %}`;
}

function workflow(id: string): string {
  return `# A workflow of the ${id} plugin: \`loom workflow run ${id}/hello --input name=world --dry-run\`.
name: hello
description: Greet someone, then check the greeting
version: 0.1.0
title: "Hello {{ inputs.name }}"
inputs:
  name:
    type: string
    description: Who to greet
    required: true
steps:
  - id: greet
    title: "Greet {{ inputs.name }}"
    skill: ${id}/hello          # this plugin's skill, namespaced by its id
    context:
      name: "{{ inputs.name }}"
    done_when: "The output holds the greeting"

  - id: check
    title: "Check the greeting to {{ inputs.name }}"
    depends_on: [greet]
    done_when: "The output says whether the greeting is friendly and correct"
`;
}

function testJs(id: string): string {
  return `import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLoomPlugin } from 'loom-agents/plugin';
import { afterEach, describe, expect, it } from 'vitest';
import plugin from '../index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('${id} plugin', () => {
  it('is a Loom plugin with the id of its package.json', () => {
    expect(isLoomPlugin(plugin)).toBe(true);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.keywords).toContain('loom-plugin');
    expect(plugin.id).toBe(pkg.loom.id);
  });

  it('names folders and a main file that exist in package.json', () => {
    const { loom } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(statSync(join(root, loom.skills)).isDirectory()).toBe(true);
    expect(statSync(join(root, loom.workflows)).isDirectory()).toBe(true);
    expect(statSync(join(root, loom.main)).isFile()).toBe(true);
  });

  it('the jsonl notifier appends each event as one line, the path relative to the project', async () => {
    const projectDir = mkdtempSync(join(tmpdir(), '${id}-test-'));
    dirs.push(projectDir);
    const type = plugin.notifiers.find((n) => n.type === 'jsonl');
    const notifier = await type.create({ path: 'out/events.jsonl' }, { name: 'audit', projectDir, log: () => {} });
    // a LoomEvent as notifiers receive it (see the LoomEvent type of loom-agents/plugin)
    const event = { id: 1, project_id: 'prj-0123456789ab', at: new Date().toISOString(), type: 'task.created', task_id: 'loom-1a2b3c4d', agent_id: null, payload: { title: 'Write the spec' } };
    await notifier.notify(event);
    await notifier.close();
    const lines = readFileSync(join(projectDir, 'out', 'events.jsonl'), 'utf8').trim().split('\\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([event]);
  });

  it('the script runner builds node SCRIPT TASK_ID TITLE, the title as one argument', () => {
    const type = plugin.runners.find((r) => r.type === 'script');
    const job = { task: { id: 'loom-1a2b3c4d', title: 'Fix "it"; now', priority: 'p1', context: {}, done_when: null, labels: [], parent_id: null, attempt: 2, max_attempts: 3 }, agentId: 'a-0', projectId: 'demo', projectDir: '/src/app' };
    expect(type.command(job, { script: 'scripts/agent.mjs' })).toEqual({ argv: [process.execPath, 'scripts/agent.mjs', 'loom-1a2b3c4d', 'Fix "it"; now'], env: { TASK_ATTEMPT: '2' } });
    expect(type.optionsSchema.required).toEqual(['script']);
  });

  it('refuses unknown options in its schema', () => {
    const type = plugin.notifiers.find((n) => n.type === 'jsonl');
    expect(type.optionsSchema.additionalProperties).toBe(false);
    expect(type.optionsSchema.required).toEqual(['path']);
  });
});
`;
}

export interface PluginScaffold {
  id: string;
  package: string;
  dir: string;
  files: string[];
}

/**
 * Writes a new plugin package to `<parent>/loom-plugin-<id>/` (refused when
 * that folder exists and is not empty), then checks it as Loom will: the
 * manifest as discovery checks it, the skill and the workflow with Loom's own
 * parsers. A template that fails is Loom's bug: the folder is removed and the
 * command fails, rather than handing the user a broken package.
 */
export function writePluginScaffold(parent: string, id: string, loomVersion: string, loomLink: string | null = null): PluginScaffold {
  if (typeof id !== 'string' || !new RegExp(PLUGIN_ID_PATTERN).test(id)) {
    throw new LoomError('VALIDATION_FAILED', `${JSON.stringify(String(id).slice(0, 80))} is not a plugin name`, {
      hint: 'a plugin name is its id: lower-case letters, digits and dashes, starting with a letter, at most 64 characters (e.g. jira-sync); the package is loom-plugin-NAME',
      details: { name: String(id).slice(0, 200) },
    });
  }
  if (parent.includes('\u0000')) {
    throw new LoomError('VALIDATION_FAILED', '--dir contains a NUL character', { hint: 'give the folder to create the plugin in, e.g. --dir ~/src' });
  }
  const pkg = `loom-plugin-${id}`;
  const dir = resolve(parent, pkg);
  const existed = existsSync(dir);
  if (existed && readdirSync(dir).length > 0) {
    throw new LoomError('CONFLICT', `${dir} exists and is not empty`, {
      hint: 'pick another name, another --dir, or move the folder away; nothing was written',
      details: { path: dir },
    });
  }
  const files = pluginScaffoldFiles(id, loomVersion, loomLink);
  try {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text, { flag: 'wx' });
    }
    const problems = checkScaffold(dir, id);
    if (problems.length > 0) throw new LoomError('INTERNAL', `the new plugin does not load (a bug of Loom's templates): ${problems.join('; ')}`);
  } catch (e) {
    // Only what this call made goes: an empty folder given to it stays.
    if (existed) for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
    else rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { id, package: pkg, dir, files: Object.keys(files) };
}

/** Every reason the package in `dir` would not load as plugin `id` (none: it loads). */
export function checkScaffold(dir: string, id: string): string[] {
  const problems: string[] = [];
  const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const m = checkPluginPackage(dir, pkg);
  if (!m.is_plugin) problems.push('package.json has no loom-plugin keyword');
  if (m.id !== id) problems.push(`the manifest id is ${m.id}, not ${id}`);
  if (!m.api_fits) problems.push(`loom.apiVersion ${m.api_version ?? '-'} does not admit plugin API ${PLUGIN_API_VERSION}`);
  problems.push(...m.errors.map((e) => `${e.code} ${e.message}`));
  const skillPath = join(dir, 'skills', 'hello.md');
  const s = parseSkillFile({ path: skillPath, text: readFileSync(skillPath, 'utf8'), source: `plugin:${id}` }, id);
  if (!s.ok) problems.push(`${s.problem.file}:${s.problem.line}: ${s.problem.reason}`);
  const workflowPath = join(dir, 'workflows', 'hello.yaml');
  const w = parseWorkflowFile({ path: workflowPath, text: readFileSync(workflowPath, 'utf8'), source: `plugin:${id}` }, id);
  if (!w.ok) problems.push(`${w.problem.file}:${w.problem.line}: ${w.problem.reason}`);
  return problems;
}
