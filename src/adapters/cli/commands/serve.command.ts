import { createHash, randomBytes } from 'node:crypto';
import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import type { ServeInfo } from '../../../ports/loom-connector.js';
import { LoomCommand } from '../base-command.js';
import { printJson } from '../output.js';
import { parseNonNegativeInt } from '../parse.js';

export class ServeCommand extends LoomCommand {
  static override paths = [['serve']];

  static override usage = Command.Usage({
    category: 'Agents',
    description: 'Serve the Loom MCP tools over HTTP for a team (bearer token required)',
    details: `
      Speaks MCP over Streamable HTTP with the same tools and \`notifications/loom/task_event\` as \`loom mcp\`, for agents on other machines sharing one server. The project of this directory is served at \`/mcp\`; any other project of the same database at \`/projects/<project_id>/mcp\`. A session stays bound to the project it was opened on.

      Every request must carry \`Authorization: Bearer <token>\`; the token comes from \`LOOM_TOKEN\` or \`serve.token\` in a config file (\`--new-token\` prints a fresh one), or is one of the named tokens of \`serve.tokens\`, one per person or machine, kept there by their SHA-256 (\`--new-token --name NAME\` prints one and its entry); the tokens are read again when a config file changes, so removing an entry revokes that one alone at once (its sessions are closed), and a session stays with the token that opened it. Without any token configured it refuses to start. Plain HTTP: beyond a trusted network, put TLS (a reverse proxy) or a tunnel in front.

      Listens on \`serve.host\`:\`serve.port\` (default 127.0.0.1:7411). Stops on SIGINT/SIGTERM: calls in flight finish, then sessions close.
    `,
    examples: [
      ['Make a token', '$0 serve --new-token'],
      ['A token for one person, kept by its hash in serve.tokens', '$0 serve --new-token --name alice'],
      ['Serve this project on the default port', 'LOOM_TOKEN=... $0 serve'],
      ['Serve to the team network', 'LOOM_TOKEN=... $0 serve --host 0.0.0.0 --port 7411'],
    ],
  });

  port = Option.String('--port', { description: 'Port to listen on (default: serve.port, else 7411; 0 picks a free one)' });
  host = Option.String('--host', { description: 'Address to listen on (default: serve.host, else 127.0.0.1)' });
  newToken = Option.Boolean('--new-token', false, { description: 'Print a fresh random token and how to set it, then exit' });
  name = Option.String('--name', { description: "With --new-token: a token for one person or machine, set by its hash in serve.tokens (revoked alone)" });

  async execute(): Promise<number> {
    if (this.name !== undefined && !this.newToken) throw validationFailed('--name goes with --new-token', { flag: '--name' });
    if (this.newToken && this.name !== undefined) {
      if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(this.name)) {
        throw validationFailed('--name must be lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit, at most 64 characters (e.g. alice, ci-runner)', { flag: '--name' });
      }
      const token = randomBytes(32).toString('hex');
      const sha256 = createHash('sha256').update(token, 'utf8').digest('hex');
      this.emit({ token, name: this.name, sha256 }, () => [
        token,
        '',
        `Give this token to ${this.name} (they set it as LOOM_TOKEN where their client runs), and add its hash where \`loom serve\` runs,`,
        'in ~/.loom/config.yaml or the project\'s .loom/config.yaml (a hash is safe to commit):',
        '  serve:',
        '    tokens:',
        `      - { name: ${this.name}, sha256: ${sha256} }`,
        `A running \`loom serve\` takes it as soon as the file is saved; removing the entry revokes ${this.name} alone.`,
      ]);
      return 0;
    }
    if (this.newToken) {
      const token = randomBytes(32).toString('hex');
      this.emit({ token }, () => [
        token,
        '',
        'Set it where `loom serve` runs, in one of two ways:',
        `  export LOOM_TOKEN=${token}`,
        '  or in ~/.loom/config.yaml:',
        '    serve:',
        `      token: ${token}`,
        'Clients send it as "Authorization: Bearer <token>". Keep it out of files you commit.',
      ]);
      return 0;
    }
    const port = parseNonNegativeInt('--port', this.port);
    if (port !== undefined && port > 65535) throw validationFailed('--port must be at most 65535', { flag: '--port' });
    if (this.host === '') throw validationFailed('--host must not be empty', { flag: '--host' });
    const result = await this.context.connector.serveHttp({
      ...this.connectOptions(),
      ...(port === undefined ? {} : { port }),
      ...(this.host === undefined ? {} : { host: this.host }),
      onReady: (info) => (this.json ? printJson(this.context.stdout, { ...info, claude_code: claudeCode(info) }) : this.print(...banner(info))),
      log: (line) => this.context.stderr.write(`[loom serve] ${line}\n`),
    });
    if (!this.json) this.context.stderr.write(`[loom serve] stopped after ${result.sessions} session(s)\n`);
    return 0;
  }
}

/** Ready-to-paste ways to connect Claude Code, reading the token from LOOM_TOKEN. */
function claudeCode(info: ServeInfo): { command: string; mcp_json: unknown } {
  return {
    command: `claude mcp add --transport http loom ${info.url} --header "Authorization: Bearer $LOOM_TOKEN"`,
    mcp_json: { mcpServers: { loom: { type: 'http', url: info.url, headers: { Authorization: 'Bearer ${LOOM_TOKEN}' } } } },
  };
}

function banner(info: ServeInfo): string[] {
  const base = info.url.slice(0, -'/mcp'.length);
  const cc = claudeCode(info);
  return [
    `Loom MCP over HTTP: project ${info.project.name} (${info.project.id}), ${info.mode} mode`,
    `  ${info.url}    this project`,
    `  ${base}/projects/<project_id>/mcp    another project of the same database`,
    `  ${base}/dashboard/    the live dashboard in a browser (sign in with the token)`,
    `Every request needs "Authorization: Bearer <token>" (${[...(info.token_source === null ? [] : [`the token from ${info.token_source}`]), ...(info.token_names.length === 0 ? [] : [`a named token of serve.tokens: ${info.token_names.join(', ')}`])].join(', or ')}).`,
    ...(info.host === '127.0.0.1' || info.host === 'localhost' || info.host === '::1'
      ? []
      : ['Plain HTTP: the token crosses the network in clear; beyond a trusted network put TLS or a tunnel in front.']),
    '',
    'Connect Claude Code (with the token in LOOM_TOKEN):',
    `  ${cc.command}`,
    'or in the project\'s .mcp.json:',
    `  ${JSON.stringify(cc.mcp_json)}`,
    '',
    'Ctrl-C stops.',
  ];
}
