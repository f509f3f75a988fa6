import { execFile, spawn } from 'node:child_process';

/** What running a command gave; `missing` when the executable is not on PATH. */
export interface CommandResult {
  ok: boolean;
  missing: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command (a version or health probe), found on the PATH of `env`, with a timeout. */
export function runQuick(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ ok: error === null, missing: error?.code === 'ENOENT', code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Runs a long command (compose up and down pull images and start containers),
 * passing each line it prints to `onLine` as it comes.
 */
export function runStreaming(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number; onLine: (line: string) => void },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: string[] = [];
    const err: string[] = [];
    const lines = (sink: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const parts = text.split(/\r?\n|\r/);
        rest = parts.pop() ?? '';
        for (const line of parts) {
          sink.push(line);
          if (line.trim() !== '') o.onLine(line);
        }
      };
    };
    child.stdout.on('data', lines(out));
    child.stderr.on('data', lines(err));
    const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs);
    let missing = false;
    child.on('error', (e: NodeJS.ErrnoException) => {
      missing = e.code === 'ENOENT';
      err.push(e.message);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, missing, code, stdout: out.join('\n'), stderr: err.join('\n') });
    });
  });
}

export type DockerProbe =
  | { ok: true; compose: string[]; version: string }
  | { ok: false; reason: 'not_installed' | 'no_engine' | 'no_compose'; message: string };

const firstLine = (r: CommandResult): string =>
  (r.stderr.trim() || r.stdout.trim()).split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit code ${r.code ?? 'none (timed out)'}`;

/**
 * Finds Docker Compose (`docker compose`, else `docker-compose`) and checks
 * that a Docker engine answers (`docker info`).
 */
export async function probeDocker(env: NodeJS.ProcessEnv): Promise<DockerProbe> {
  const [plugin, info] = await Promise.all([
    runQuick('docker', ['compose', 'version'], env),
    runQuick('docker', ['info', '--format', '{{.ServerVersion}}'], env),
  ]);
  let compose: { cmd: string[]; version: string } | null = plugin.ok ? { cmd: ['docker', 'compose'], version: plugin.stdout.trim() } : null;
  let standaloneMissing = false;
  if (compose === null) {
    const standalone = await runQuick('docker-compose', ['version'], env);
    standaloneMissing = standalone.missing;
    if (standalone.ok) compose = { cmd: ['docker-compose'], version: standalone.stdout.trim().split('\n')[0] ?? '' };
  }
  if (info.missing && compose === null) {
    return {
      ok: false,
      reason: 'not_installed',
      message: standaloneMissing
        ? 'no Docker here: neither `docker` nor `docker-compose` is on PATH'
        : 'no Docker engine here: `docker` is not on PATH and `docker-compose` does not run',
    };
  }
  // With only a standalone docker-compose and no docker CLI, `up` itself tells whether an engine answers.
  if (!info.missing && !info.ok) {
    return {
      ok: false,
      reason: 'no_engine',
      message: `no Docker engine here: the docker client is installed but \`docker info\` cannot reach an engine (${firstLine(info)})${
        compose === null ? '; Docker Compose is not installed either' : ''
      }`,
    };
  }
  if (compose === null) {
    return {
      ok: false,
      reason: 'no_compose',
      message: `Docker Compose is not installed: neither \`docker compose\` (${firstLine(plugin)}) nor \`docker-compose\` works`,
    };
  }
  return { ok: true, compose: compose.cmd, version: compose.version };
}
