import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class DownCommand extends LoomCommand {
  static override paths = [['down']];

  static override usage = Command.Usage({
    category: 'Server mode',
    description: 'Stop the Postgres and Redis that `loom up` started',
    details: `
      Runs \`docker compose down\` for this project's \`docker-compose.loom.yml\`. The data stays in the Docker volumes unless \`--volumes\` is given. \`.loom/config.yaml\` is left alone, so loom commands fail until \`loom up\` runs again (or until \`database_url\` and \`redis_url\` are removed from it).
    `,
    examples: [
      ['Stop the servers, keeping the data', '$0 down'],
      ['Stop them and delete all their data', '$0 down --volumes'],
    ],
  });

  volumes = Option.Boolean('--volumes', false, { description: 'Also delete the volumes: every task, event and message in them' });

  async execute(): Promise<number> {
    const result = await this.context.connector.down({
      ...this.connectOptions(),
      volumes: this.volumes,
      out: (line) => (this.json ? this.context.stderr : this.context.stdout).write(`${line}\n`),
    });
    this.emit(result, () => `down: ${result.compose_project} stopped${result.volumes_removed ? ', volumes deleted' : ', data kept in its volumes'}`);
    return 0;
  }
}
