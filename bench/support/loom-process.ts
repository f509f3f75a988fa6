import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/** bin/loom.js of this checkout, from bench/<name> (tsx) or dist/bench/<name> (built). */
function loomBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'bin', 'loom.js');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('bin/loom.js not found above this script');
}
export const LOOM_BIN = loomBin();

export type Env = Record<string, string>;
/** The environment of a bench's loom process: embedded mode, whatever the shell says. */
export const baseEnv = (env: Env): Env => ({ ...(process.env as Env), LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env });

/** The `loom` CLI, for set-up: init and daemon stop. */
export function cli(cwd: string, args: string[], env: Env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [LOOM_BIN, ...args], { cwd, env: baseEnv(env), timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`loom ${args.join(' ')} failed: ${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A `loom mcp` process over stdio with an SDK client (task events received and dropped, as a busy client would); `stderr()` for failures. */
export function mcpClient(cwd: string, env: Env, name: string): { client: Client; transport: StdioClientTransport; stderr: () => string } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [LOOM_BIN, 'mcp', '--agent-id', 'bench'],
    cwd,
    env: baseEnv(env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const client = new Client({ name, version: '1.0.0' });
  client.fallbackNotificationHandler = async () => {};
  return { client, transport, stderr: () => stderr };
}
