import { ContainerModule } from '#inversify';
import { AgentRunner } from '../../ports/agent-runner.js';
import { CommandRunner, type CommandRunnerOptions } from './command-runner.js';

/** Binds the agent runner to a command template (`loom orchestrate --run TEMPLATE`). */
export const runnerModule = (options: CommandRunnerOptions): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(AgentRunner).toConstantValue(new CommandRunner(options));
  });
