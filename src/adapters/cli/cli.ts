import type { Cli, CommandClass } from 'clipanion';
import { cliWith, runCli as runCore } from './cli-core.js';
import { AgentsCommand } from './commands/agents.command.js';
import { CancelCommand } from './commands/cancel.command.js';
import { HoldCommand } from './commands/hold.command.js';
import { ResumeCommand } from './commands/resume.command.js';
import { ClaimCommand } from './commands/claim.command.js';
import { CreateCommand } from './commands/create.command.js';
import { DecomposeCommand } from './commands/decompose.command.js';
import { DaemonStatusCommand } from './commands/daemon-status.command.js';
import { DemoCommand } from './commands/demo.command.js';
import { DoctorCommand } from './commands/doctor.command.js';
import { DaemonStopCommand } from './commands/daemon-stop.command.js';
import { DlqCommand } from './commands/dlq.command.js';
import { MetricsCommand } from './commands/metrics.command.js';
import { CostsCommand } from './commands/costs.command.js';
import { BudgetCommand, BudgetSetCommand } from './commands/budget.command.js';
import { DoneCommand } from './commands/done.command.js';
import { DownCommand } from './commands/down.command.js';
import { EscalateCommand } from './commands/escalate.command.js';
import { EscalationsCommand } from './commands/escalations.command.js';
import { EventsCommand } from './commands/events.command.js';
import { FailCommand } from './commands/fail.command.js';
import { FsckCommand } from './commands/fsck.command.js';
import { ExportCommand } from './commands/export.command.js';
import { ImportCommand } from './commands/import.command.js';
import { GraphCommand } from './commands/graph.command.js';
import { HeartbeatCommand } from './commands/heartbeat.command.js';
import { InitCommand } from './commands/init.command.js';
import { McpCommand } from './commands/mcp.command.js';
import { MigrateCommand } from './commands/migrate.command.js';
import { OrchestrateCommand } from './commands/orchestrate.command.js';
import { PluginsInfoCommand } from './commands/plugins-info.command.js';
import { PluginsListCommand } from './commands/plugins-list.command.js';
import { PluginsAddCommand } from './commands/plugins-add.command.js';
import { PluginsCheckCommand } from './commands/plugins-check.command.js';
import { PluginsNewCommand } from './commands/plugins-new.command.js';
import { PluginsRemoveCommand } from './commands/plugins-remove.command.js';
import { PluginsTrustCommand } from './commands/plugins-trust.command.js';
import { PluginsUntrustCommand } from './commands/plugins-untrust.command.js';
import { ReadyCommand } from './commands/ready.command.js';
import { RedriveCommand } from './commands/redrive.command.js';
import { ResolveCommand } from './commands/resolve.command.js';
import { ServeCommand } from './commands/serve.command.js';
import { DashboardCommand } from './commands/dashboard.command.js';
import { SkillsListCommand } from './commands/skills-list.command.js';
import { SkillsNewCommand } from './commands/skills-new.command.js';
import { SkillsRenderCommand } from './commands/skills-render.command.js';
import { SkillsShowCommand } from './commands/skills-show.command.js';
import { SkillsStatsCommand } from './commands/skills-stats.command.js';
import { ProjectListCommand } from './commands/project-list.command.js';
import { ProjectRemoveCommand } from './commands/project-remove.command.js';
import { CompleteWordsCommand, CompletionCommand } from './commands/completion.command.js';
import { HelpWordCommand } from './commands/help.command.js';
import { StatusCommand } from './commands/status.command.js';
import { TickCommand } from './commands/tick.command.js';
import { UpCommand } from './commands/up.command.js';
import { UpdateCommand } from './commands/update.command.js';
import { WatchCommand } from './commands/watch.command.js';
import { WorkflowListCommand } from './commands/workflow-list.command.js';
import { WorkflowNewCommand } from './commands/workflow-new.command.js';
import { WorkflowRunCommand } from './commands/workflow-run.command.js';
import { WorkflowRunsCommand } from './commands/workflow-runs.command.js';
import { WorkflowShowCommand } from './commands/workflow-show.command.js';
import { WorkflowStatusCommand } from './commands/workflow-status.command.js';
import { ListCommand } from './commands/list.command.js';
import { ShowCommand } from './commands/show.command.js';
import { DepAddCommand } from './commands/dep-add.command.js';
import { DepRmCommand } from './commands/dep-rm.command.js';
import { NextCommand } from './commands/next.command.js';
import { MessageCommand } from './commands/message.command.js';
import { InboxCommand } from './commands/inbox.command.js';
import type { LoomCliContext } from './context.js';

export const COMMANDS: ReadonlyArray<CommandClass<LoomCliContext>> = [
  InitCommand,
  MigrateCommand,
  UpCommand,
  DownCommand,
  CreateCommand,
  UpdateCommand,
  ListCommand,
  ShowCommand,
  DepAddCommand,
  DepRmCommand,
  ReadyCommand,
  NextCommand,
  ClaimCommand,
  HeartbeatCommand,
  DoneCommand,
  FailCommand,
  EscalateCommand,
  CancelCommand,
  HoldCommand,
  ResumeCommand,
  StatusCommand,
  GraphCommand,
  DecomposeCommand,
  EventsCommand,
  WatchCommand,
  DashboardCommand,
  DlqCommand,
  RedriveCommand,
  EscalationsCommand,
  ResolveCommand,
  AgentsCommand,
  MetricsCommand,
  CostsCommand,
  BudgetCommand,
  BudgetSetCommand,
  MessageCommand,
  InboxCommand,
  SkillsListCommand,
  SkillsShowCommand,
  SkillsRenderCommand,
  SkillsNewCommand,
  SkillsStatsCommand,
  ProjectListCommand,
  ProjectRemoveCommand,
  HelpWordCommand,
  CompletionCommand,
  CompleteWordsCommand,
  PluginsListCommand,
  PluginsInfoCommand,
  PluginsTrustCommand,
  PluginsUntrustCommand,
  PluginsAddCommand,
  PluginsRemoveCommand,
  PluginsNewCommand,
  PluginsCheckCommand,
  WorkflowListCommand,
  WorkflowShowCommand,
  WorkflowNewCommand,
  WorkflowRunCommand,
  WorkflowRunsCommand,
  WorkflowStatusCommand,
  TickCommand,
  DaemonStatusCommand,
  DaemonStopCommand,
  McpCommand,
  ServeCommand,
  DemoCommand,
  DoctorCommand,
  OrchestrateCommand,
  FsckCommand,
  ExportCommand,
  ImportCommand,
];

/** The `loom` command line with every command (main.ts loads only the commands a command line needs: command-loaders.ts). */
export function buildCli(binaryVersion: string, opts: { enableColors?: boolean } = {}): Cli<LoomCliContext> {
  return cliWith(binaryVersion, COMMANDS, opts);
}

/** runCli (cli-core.ts), by default with every command. */
export function runCli(argv: string[], context: LoomCliContext, cli: Cli<LoomCliContext> = buildCli('0.0.0', { enableColors: context.colorDepth > 1 })): Promise<number> {
  return runCore(argv, context, cli);
}

