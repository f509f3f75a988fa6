/**
 * The plugin management commands as an adapter: flags reach the connector
 * (--project, --dir, the id or spec as typed), results print as a person
 * reads them or as JSON, and a refused input exits 1 with its code.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../../src/adapters/cli/cli.js';
import type { LoomCliContext } from '../../src/adapters/cli/context.js';
import { LoomError } from '../../src/domain/errors.js';
import { VizGraphPictures } from '../../src/adapters/graphviz/viz-graph-pictures.js';
import type { LoomConnector, PluginInfo } from '../../src/ports/loom-connector.js';

async function run(argv: string[], connector: Partial<LoomConnector>): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const context: LoomCliContext = { connector: connector as LoomConnector, env: {}, stdin: new PassThrough(), stdout, stderr, colorDepth: 1, pictures: new VizGraphPictures() };
  const code = await runCli(argv, context, buildCli('9.9.9', { enableColors: false }));
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out.join(''), stderr: err.join('') };
}

// Cast: the listing's shape grows with code loading (code, notifiers, notifier_types are set for it); the commands print these.
const plugin = {
  id: 'example',
  package: 'loom-plugin-example',
  version: '0.1.0',
  dir: '/h/plugins/node_modules/loom-plugin-example',
  source: 'user',
  api_version: '^1.0.0',
  api_fits: true,
  trusted: false,
  skills: '/s',
  workflows: '/w',
  main: '/h/plugins/node_modules/loom-plugin-example/index.js',
  errors: [],
  active: true,
  code: 'untrusted',
  notifiers: [],
  contributes: { skills: 2, workflows: 1, code: true, notifier_types: [], runner_types: [] },
} as unknown as PluginInfo;

describe('loom plugins trust / untrust', () => {
  it('passes the id and --project, and says what now runs and that the daemon restarts', async () => {
    const seen: unknown[] = [];
    const r = await run(['plugins', 'trust', 'example', '--project'], {
      pluginsTrust: async (o) => {
        seen.push(o);
        return { id: o.id, package: 'loom-plugin-example', changed: true, scope: 'project', config_path: '/p/.loom/config.yaml', main: plugin.main, restart: { daemon_stopped: true, note: "stopped the project's daemon" } };
      },
    });
    expect(r.code).toBe(0);
    expect(seen).toEqual([{ id: 'example', project: true }]);
    expect(r.stdout).toContain('trusted example (loom-plugin-example) in /p/.loom/config.yaml');
    expect(r.stdout).toContain(`its code now runs: ${plugin.main}`);
    expect(r.stdout).toContain("stopped the project's daemon");
  });

  it('reports an unknown id with its code and exit 1', async () => {
    const r = await run(['plugins', 'trust', 'nope'], {
      pluginsTrust: async () => {
        throw new LoomError('PLUGIN_NOT_FOUND', 'no plugin with the id "nope" is installed', { hint: 'installed: example' });
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('PLUGIN_NOT_FOUND: no plugin with the id "nope" is installed\nhint: installed: example\n');
  });

  it('untrust names each file it changed, or says nothing changed', async () => {
    const changed = await run(['plugins', 'untrust', 'example'], {
      pluginsUntrust: async (o) => ({ id: o.id, removed_from: [{ scope: 'user', config_path: '/h/config.yaml' }, { scope: 'project', config_path: '/p/.loom/config.yaml' }], still_trusted_in: [], restart: null }),
    });
    expect(changed.stdout).toContain('removed example from plugins.trust in /h/config.yaml (user)');
    expect(changed.stdout).toContain('removed example from plugins.trust in /p/.loom/config.yaml (project)');
    const none = await run(['plugins', 'untrust', 'example', '--json'], {
      pluginsUntrust: async (o) => ({ id: o.id, removed_from: [], still_trusted_in: [], restart: null }),
    });
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual({ id: 'example', removed_from: [], still_trusted_in: [], restart: null });
  });
});

describe('loom plugins add / remove / new', () => {
  it('add prints what the plugin contributes and how to trust its code', async () => {
    const seen: unknown[] = [];
    const r = await run(['plugins', 'add', './loom-plugin-example'], {
      pluginsAdd: async (o) => {
        seen.push(o);
        return { scope: 'user', spec: '/abs/loom-plugin-example', command: ['npm', 'install'], installed: true, added: true, plugin };
      },
    });
    expect(seen).toEqual([{ spec: './loom-plugin-example', project: false }]);
    expect(r.stdout).toContain('installed example (loom-plugin-example@0.1.0)');
    expect(r.stdout).toContain('contributes: 2 skills, 1 workflow, code (not run: untrusted');
    expect(r.stdout).toContain('untrusted: its code does not run; run `loom plugins trust example`');
  });

  it('add --project and remove of a project dependency print the npm line, quoted for a shell', async () => {
    const add = await run(['plugins', 'add', '/my plugins/x', '--project'], {
      pluginsAdd: async (o) => ({ scope: 'project', spec: o.spec, command: ['npm', 'i', '-D', o.spec], installed: false }),
    });
    expect(add.code).toBe(0);
    expect(add.stdout).toContain("  npm i -D '/my plugins/x'");
    const remove = await run(['plugins', 'remove', 'example'], {
      pluginsRemove: async (o) => ({ id: o.id, package: 'loom-plugin-example', source: 'project', removed: false, command: ['npm', 'uninstall', 'loom-plugin-example'], untrusted_in: null, restart: null }),
    });
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain('  npm uninstall loom-plugin-example');
  });

  it('new passes the name and --dir and prints the next steps', async () => {
    const seen: unknown[] = [];
    const r = await run(['plugins', 'new', 'demo', '--dir', 'src'], {
      pluginsNew: async (o) => {
        seen.push(o);
        return { id: 'demo', package: 'loom-plugin-demo', dir: '/c/src/loom-plugin-demo', files: ['package.json'], next_steps: ['cd /c/src/loom-plugin-demo && npm install && npm test'] };
      },
    });
    expect(seen).toEqual([{ name: 'demo', dir: 'src' }]);
    expect(r.stdout).toContain('wrote /c/src/loom-plugin-demo:');
    expect(r.stdout).toContain('  cd /c/src/loom-plugin-demo && npm install && npm test');
  });
});
