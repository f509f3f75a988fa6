import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LoomError } from '../domain/errors.js';

export type FileChange = 'created' | 'updated' | 'unchanged';

export interface McpServerEntry {
  command: string;
  args: string[];
}

/**
 * How Claude Code should start `loom mcp`, portable first: the `.mcp.json`
 * is committed, so a teammate's clone must start it too.
 * 1. The project depends on loom-agents: `npx --no loom mcp` (its own
 *    node_modules/.bin/loom; `--no`: never fetch an unrelated `loom` from the registry).
 * 2. This install is `loom` on the PATH: plain `loom mcp`.
 * 3. Otherwise node with this install's absolute path: works here only
 *    (`portable: false`, and init says how to fix that).
 * Claude Code starts it in the project directory, where `loom` finds the project.
 */
export function mcpServerEntry(loomBin: string, env: NodeJS.ProcessEnv, projectDir?: string): McpServerEntry & { portable: boolean } {
  if (projectDir !== undefined && dependsOnLoom(projectDir)) return { command: 'npx', args: ['--no', 'loom', 'mcp'], portable: true };
  const ours = realpathSync(loomBin);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'loom');
    try {
      if (statSync(candidate).isFile() && realpathSync(candidate) === ours) return { command: 'loom', args: ['mcp'], portable: true };
    } catch {
      // not there
    }
  }
  return { command: process.execPath, args: [ours, 'mcp'], portable: false };
}

/** The project's package.json lists loom-agents (dependencies or devDependencies) and it is installed there. */
function dependsOnLoom(projectDir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, unknown>; devDependencies?: Record<string, unknown> };
    const listed = pkg.dependencies?.['loom-agents'] !== undefined || pkg.devDependencies?.['loom-agents'] !== undefined;
    return listed && existsSync(join(projectDir, 'node_modules', '.bin', 'loom'));
  } catch {
    return false;
  }
}

/** Throws CONFIG_INVALID when an existing `.mcp.json` cannot be merged (checked before init writes anything). */
export function checkMcpJson(projectDir: string): void {
  readMcpJson(join(projectDir, '.mcp.json'));
}

function readMcpJson(path: string): ({ mcpServers?: Record<string, unknown> } & Record<string, unknown>) | null {
  if (!existsSync(path)) return null;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LoomError('CONFIG_INVALID', `${path} is not valid JSON: ${(e as Error).message}`, {
      hint: 'fix it by hand (Loom will not overwrite it), then run `loom init` again',
      details: { file: path },
    });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new LoomError('CONFIG_INVALID', `${path} must hold a JSON object`, { hint: 'fix it by hand, then run `loom init` again', details: { file: path } });
  }
  return config as { mcpServers?: Record<string, unknown> } & Record<string, unknown>;
}

/** Writes or merges the `loom` server into the project's `.mcp.json`, keeping every other server. */
export function writeMcpJson(projectDir: string, entry: McpServerEntry): FileChange {
  const path = join(projectDir, '.mcp.json');
  const existing = readMcpJson(path);
  const existed = existing !== null;
  const config = existing ?? {};
  const servers = (config.mcpServers ?? {}) as Record<string, unknown>;
  if (JSON.stringify(servers.loom) === JSON.stringify(entry)) return 'unchanged';
  config.mcpServers = { ...servers, loom: entry };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return existed ? 'updated' : 'created';
}

const BEGIN = '<!-- loom:begin (written by `loom init`; edits inside are replaced) -->';
const END = '<!-- loom:end -->';

const AGENTS_SECTION = `${BEGIN}
## Working with Loom

This project's work is a shared task graph in Loom. Several agents work it at once, so take work only by claiming it.

With the Loom MCP tools (Claude Code starts \`loom mcp\` from \`.mcp.json\`):
1. \`loom_inbox\`: read messages from other agents first.
2. \`loom_claim\` (no arguments: the best ready task) or \`loom_ready\` to look first. A claim gives you a lease; this session remembers it.
3. Do the work. On long work call \`loom_heartbeat\` before the lease runs out (5 minutes by default).
4. \`loom_done\` with an \`output\` object (what you did, links, files), or \`loom_fail\` with a \`reason\` (\`retryable: false\` when retrying cannot help).
5. Only a human can help? \`loom_escalate\` with a message. Want another agent to know something? \`loom_message\` (\`to\`: an agent id or \`*\`).
6. Lost your context? \`loom_recover\` lists what you hold; \`execute: "heartbeat"\` keeps it, \`"release"\` gives it back.
A \`LEASE_LOST\` error means the task went back to the queue: stop working on it and claim new work.

New work goes in with \`loom_create\` (\`depends_on\` for order, \`parent_id\` for an epic, \`done_when\` for the acceptance test).

A subagent without MCP reports through the CLI, with the task id and lease token its parent gives it:
\`\`\`sh
loom done TASK_ID --agent NAME --token LEASE_TOKEN --output '{"summary": "..."}'
loom fail TASK_ID --agent NAME --token LEASE_TOKEN --reason "..."
loom heartbeat TASK_ID --agent NAME --token LEASE_TOKEN
\`\`\`
\`loom status\`, \`loom ready\` and \`loom graph --format waves\` show where the project stands.
${END}
`;

/** Creates AGENTS.md, or adds or refreshes Loom's section between its markers. */
export function writeAgentsMd(projectDir: string): FileChange {
  const path = join(projectDir, 'AGENTS.md');
  if (!existsSync(path)) {
    writeFileSync(path, `# Agents\n\n${AGENTS_SECTION}`);
    return 'created';
  }
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  // A section whose end marker was deleted runs to the end of the file.
  const next =
    start < 0
      ? `${text.trimEnd()}\n\n${AGENTS_SECTION}`
      : `${text.slice(0, start)}${AGENTS_SECTION.trimEnd()}${end > start ? text.slice(end + END.length) : '\n'}`;
  if (next === text) return 'unchanged';
  writeFileSync(path, next);
  return 'updated';
}
