import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { parsePositiveInt } from '../parse.js';

export class UpCommand extends LoomCommand {
  static override paths = [['up']];

  static override usage = Command.Usage({
    category: 'Server mode',
    description: 'Start Postgres and Redis in Docker for this project and switch it to them',
    details: `
      Writes \`docker-compose.loom.yml\` (Postgres 16 and Redis 7, health checks, named volumes, ports bound to 127.0.0.1, a generated password kept in the file), starts it with Docker Compose and waits until both are healthy, migrates the database, creates the project in it, checks that Redis answers, and writes \`database_url\` and \`redis_url\` into \`.loom/config.yaml\`. Running it again keeps the password and ports.

      Without a Docker engine it exits 1 with \`DOCKER_UNAVAILABLE\` and explains how to point Loom at servers you already have; the compose file is still written, for a machine with Docker.
    `,
    examples: [
      ['Start the servers on the default ports (5432 and 6379)', '$0 up'],
      ['Use other ports when those are taken', '$0 up --postgres-port 5433 --redis-port 6380'],
    ],
  });

  postgresPort = Option.String('--postgres-port', { description: 'Host port for Postgres, on 127.0.0.1 (default: as before, else 5432)' });
  redisPort = Option.String('--redis-port', { description: 'Host port for Redis, on 127.0.0.1 (default: as before, else 6379)' });
  postgresUser = Option.String('--postgres-user', { description: 'The Postgres role the container creates (default loom)' });
  postgresDb = Option.String('--postgres-db', { description: 'The Postgres database the container creates (default loom)' });

  async execute(): Promise<number> {
    const postgresPort = parsePositiveInt('--postgres-port', this.postgresPort);
    const redisPort = parsePositiveInt('--redis-port', this.redisPort);
    const result = await this.context.connector.up({
      ...this.connectOptions(),
      ...(postgresPort === undefined ? {} : { postgresPort }),
      ...(redisPort === undefined ? {} : { redisPort }),
      ...(this.postgresUser === undefined ? {} : { postgresUser: this.postgresUser }),
      ...(this.postgresDb === undefined ? {} : { postgresDb: this.postgresDb }),
      out: (line) => (this.json ? this.context.stderr : this.context.stdout).write(`${line}\n`),
    });
    this.emit(result, () => ['', `up: this project now uses ${result.database_url} and ${result.redis_url}; check with \`loom doctor\`, stop with \`loom down\``]);
    return 0;
  }
}
