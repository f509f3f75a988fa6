import type { Cli, CommandClass } from 'clipanion';
import { cliWith } from './cli-core.js';
import type { LoomCliContext } from './context.js';

type Commands = ReadonlyArray<CommandClass<LoomCliContext>>;

/**
 * For each first word of a command path, the modules of the commands whose path
 * starts with it, loaded on demand: a `loom ready` loads the ready command and
 * what it imports, not all 70 commands (~0.1 s). Listed in the order of COMMANDS
 * (cli.ts); tests/unit/cli-runner.test.ts checks each entry against it. `help`,
 * `completion` and `__complete` are not here: they read the whole command list.
 */
export const COMMAND_LOADERS: ReadonlyMap<string, () => Promise<Commands>> = new Map<string, () => Promise<Commands>>([
  ['init', async () => [(await import('./commands/init.command.js')).InitCommand]],
  ['migrate', async () => [(await import('./commands/migrate.command.js')).MigrateCommand]],
  ['up', async () => [(await import('./commands/up.command.js')).UpCommand]],
  ['down', async () => [(await import('./commands/down.command.js')).DownCommand]],
  ['create', async () => [(await import('./commands/create.command.js')).CreateCommand]],
  ['update', async () => [(await import('./commands/update.command.js')).UpdateCommand]],
  ['list', async () => [(await import('./commands/list.command.js')).ListCommand]],
  ['show', async () => [(await import('./commands/show.command.js')).ShowCommand]],
  ['dep', async () => {
    const [m0, m1] = await Promise.all([
      import('./commands/dep-add.command.js'),
      import('./commands/dep-rm.command.js'),
    ]);
    return [m0.DepAddCommand, m1.DepRmCommand];
  }],
  ['ready', async () => [(await import('./commands/ready.command.js')).ReadyCommand]],
  ['next', async () => [(await import('./commands/next.command.js')).NextCommand]],
  ['claim', async () => [(await import('./commands/claim.command.js')).ClaimCommand]],
  ['heartbeat', async () => [(await import('./commands/heartbeat.command.js')).HeartbeatCommand]],
  ['done', async () => [(await import('./commands/done.command.js')).DoneCommand]],
  ['fail', async () => [(await import('./commands/fail.command.js')).FailCommand]],
  ['escalate', async () => [(await import('./commands/escalate.command.js')).EscalateCommand]],
  ['cancel', async () => [(await import('./commands/cancel.command.js')).CancelCommand]],
  ['hold', async () => [(await import('./commands/hold.command.js')).HoldCommand]],
  ['resume', async () => [(await import('./commands/resume.command.js')).ResumeCommand]],
  ['status', async () => [(await import('./commands/status.command.js')).StatusCommand]],
  ['graph', async () => [(await import('./commands/graph.command.js')).GraphCommand]],
  ['decompose', async () => [(await import('./commands/decompose.command.js')).DecomposeCommand]],
  ['events', async () => [(await import('./commands/events.command.js')).EventsCommand]],
  ['watch', async () => [(await import('./commands/watch.command.js')).WatchCommand]],
  ['dashboard', async () => [(await import('./commands/dashboard.command.js')).DashboardCommand]],
  ['dlq', async () => [(await import('./commands/dlq.command.js')).DlqCommand]],
  ['redrive', async () => [(await import('./commands/redrive.command.js')).RedriveCommand]],
  ['escalations', async () => [(await import('./commands/escalations.command.js')).EscalationsCommand]],
  ['resolve', async () => [(await import('./commands/resolve.command.js')).ResolveCommand]],
  ['agents', async () => [(await import('./commands/agents.command.js')).AgentsCommand]],
  ['metrics', async () => [(await import('./commands/metrics.command.js')).MetricsCommand]],
  ['costs', async () => [(await import('./commands/costs.command.js')).CostsCommand]],
  ['budget', async () => {
    const m = await import('./commands/budget.command.js');
    return [m.BudgetCommand, m.BudgetSetCommand];
  }],
  ['message', async () => [(await import('./commands/message.command.js')).MessageCommand]],
  ['inbox', async () => [(await import('./commands/inbox.command.js')).InboxCommand]],
  ['skills', async () => {
    const [m0, m1, m2, m3, m4] = await Promise.all([
      import('./commands/skills-list.command.js'),
      import('./commands/skills-show.command.js'),
      import('./commands/skills-render.command.js'),
      import('./commands/skills-new.command.js'),
      import('./commands/skills-stats.command.js'),
    ]);
    return [m0.SkillsListCommand, m1.SkillsShowCommand, m2.SkillsRenderCommand, m3.SkillsNewCommand, m4.SkillsStatsCommand];
  }],
  ['project', async () => {
    const [m0, m1] = await Promise.all([
      import('./commands/project-list.command.js'),
      import('./commands/project-remove.command.js'),
    ]);
    return [m0.ProjectListCommand, m1.ProjectRemoveCommand];
  }],
  ['plugins', async () => {
    const [m0, m1, m2, m3, m4, m5, m6, m7] = await Promise.all([
      import('./commands/plugins-list.command.js'),
      import('./commands/plugins-info.command.js'),
      import('./commands/plugins-trust.command.js'),
      import('./commands/plugins-untrust.command.js'),
      import('./commands/plugins-add.command.js'),
      import('./commands/plugins-remove.command.js'),
      import('./commands/plugins-new.command.js'),
      import('./commands/plugins-check.command.js'),
    ]);
    return [m0.PluginsListCommand, m1.PluginsInfoCommand, m2.PluginsTrustCommand, m3.PluginsUntrustCommand, m4.PluginsAddCommand, m5.PluginsRemoveCommand, m6.PluginsNewCommand, m7.PluginsCheckCommand];
  }],
  ['workflow', async () => {
    const [m0, m1, m2, m3, m4, m5] = await Promise.all([
      import('./commands/workflow-list.command.js'),
      import('./commands/workflow-show.command.js'),
      import('./commands/workflow-new.command.js'),
      import('./commands/workflow-run.command.js'),
      import('./commands/workflow-runs.command.js'),
      import('./commands/workflow-status.command.js'),
    ]);
    return [m0.WorkflowListCommand, m1.WorkflowShowCommand, m2.WorkflowNewCommand, m3.WorkflowRunCommand, m4.WorkflowRunsCommand, m5.WorkflowStatusCommand];
  }],
  ['tick', async () => [(await import('./commands/tick.command.js')).TickCommand]],
  ['daemon', async () => {
    const [m0, m1] = await Promise.all([
      import('./commands/daemon-status.command.js'),
      import('./commands/daemon-stop.command.js'),
    ]);
    return [m0.DaemonStatusCommand, m1.DaemonStopCommand];
  }],
  ['mcp', async () => [(await import('./commands/mcp.command.js')).McpCommand]],
  ['serve', async () => [(await import('./commands/serve.command.js')).ServeCommand]],
  ['demo', async () => [(await import('./commands/demo.command.js')).DemoCommand]],
  ['doctor', async () => [(await import('./commands/doctor.command.js')).DoctorCommand]],
  ['orchestrate', async () => [(await import('./commands/orchestrate.command.js')).OrchestrateCommand]],
  ['fsck', async () => [(await import('./commands/fsck.command.js')).FsckCommand]],
  ['export', async () => [(await import('./commands/export.command.js')).ExportCommand]],
  ['import', async () => [(await import('./commands/import.command.js')).ImportCommand]],
]);

/**
 * The `loom` command line for `argv`: the commands of its first word alone
 * when COMMAND_LOADERS has it, every command (cli.ts) otherwise.
 */
export async function loadCli(binaryVersion: string, opts: { enableColors?: boolean; argv: readonly string[] }): Promise<Cli<LoomCliContext>> {
  const first = opts.argv[0];
  const load = first === undefined ? undefined : COMMAND_LOADERS.get(first);
  if (load !== undefined) return cliWith(binaryVersion, await load(), opts);
  return (await import('./cli.js')).buildCli(binaryVersion, opts);
}
