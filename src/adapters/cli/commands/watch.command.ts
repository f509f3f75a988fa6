import { Command, Option } from 'clipanion';
import type { LoomEvent } from '../../../domain/events.js';
import { LoomCommand } from '../base-command.js';
import { printable, shortTime } from '../output.js';
import { parseNonNegativeInt, parsePositiveInt } from '../parse.js';

const POLL_MS = 500;
const BACKLOG = 20;
/** How far behind the newest event seen a log poll starts, for events that committed late. */
const LOOK_BACK = 200;
/** With live pushes, the log is read this often as a backstop (a lost connection, a restarted daemon). */
const PUSHED_POLL_MS = 2_000;
/** How long the log may stay unreadable before watch gives up with an error. */
const GIVE_UP_MS = 60_000;

export class WatchCommand extends LoomCommand {
  static override paths = [['watch']];

  static override usage = Command.Usage({
    description: "Follow the project's events live",
    details: `
      Prints the latest events (or every event after \`--since N\`) from the log, then each new one as it commits, until Ctrl-C (or \`--for S\` seconds). With \`--json\`, one JSON event per line.

      New events are pushed: by the project's daemon in embedded mode, through Redis in server mode. Server mode without Redis reads the log every half second instead.
    `,
    examples: [
      ['Follow the project', '$0 watch'],
      ['Replay from event 120, then follow, as JSON lines', '$0 watch --since 120 --json'],
    ],
  });

  since = Option.String('--since', { description: 'Replay every event after this id first' });
  for = Option.String('--for', { description: 'Stop after this many seconds' });

  async execute(): Promise<number> {
    const since = parseNonNegativeInt('--since', this.since);
    const seconds = parsePositiveInt('--for', this.for);
    const { api, project, events } = await this.context.connector.open(this.connectOptions());
    const seen = new Set<number>();
    let newest = 0;
    const print = (e: LoomEvent): void => {
      if (seen.has(e.id)) return; // the same event from the log and from the push
      seen.add(e.id);
      newest = Math.max(newest, e.id);
      this.context.stdout.write(this.json ? `${JSON.stringify(e)}\n` : `${printable(line(e))}\n`);
    };
    // Listen first, so nothing committed while the log is read is missed.
    let replaying = true;
    const early: LoomEvent[] = [];
    const pushed = project.mode === 'embedded' || project.redis === true;
    const off = pushed ? events.subscribe(project.project_id, (e) => (replaying ? early.push(e) : print(e))) : () => {};
    let cursor = since ?? 0;
    let poll: NodeJS.Timeout | undefined;
    try {
      if (since === undefined) {
        // The latest few, oldest first, for context.
        const all = await api.events({ project_id: project.project_id, limit: 10_000 });
        cursor = all.at(-1)?.id ?? 0;
        all.slice(-BACKLOG).forEach(print);
      }
      for (;;) {
        const page = await api.events({ project_id: project.project_id, since: cursor, limit: 1000 });
        page.forEach(print);
        if (page.length < 1000) break;
        cursor = page.at(-1)!.id;
      }
      replaying = false;
      early.sort((a, b) => a.id - b.id).forEach(print);
      if (!this.json) this.context.stderr.write(`following ${project.project_id} (${project.mode} mode); Ctrl-C stops\n`);
      const failed = await new Promise<string | null>((resolve) => {
        const stop = (): void => resolve(null);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (seconds !== undefined) setTimeout(stop, seconds * 1000);
        // Read the log too: without Redis it is the only source; with pushes it fills what a
        // connection lost (the daemon stopped or died: the next call starts one again, and the
        // push resubscribes) and keeps this process alive meanwhile. Transactions commit out of
        // id order, so look back a little behind the newest id seen (printing dedupes).
        let failing = 0;
        let busy = false;
        poll = setInterval(
          () => {
            if (busy) return;
            busy = true;
            const after = Math.max(0, newest - LOOK_BACK);
            api
              .events({ project_id: project.project_id, since: after, limit: 1000 })
              .then(
                (p) => {
                  p.forEach(print);
                  failing = 0;
                },
                (e: unknown) => {
                  // A minute without an answer: say so and stop with an error, never silently.
                  if (++failing * (pushed ? PUSHED_POLL_MS : POLL_MS) >= GIVE_UP_MS) resolve(`lost the event log: ${(e as Error)?.message ?? String(e)}`);
                },
              )
              .finally(() => {
                busy = false;
              });
          },
          pushed ? PUSHED_POLL_MS : POLL_MS,
        );
      });
      if (failed !== null) {
        this.context.stderr.write(`loom watch: ${printable(failed)}; the last event printed was #${newest} (resume with --since ${newest})\n`);
        return 1;
      }
    } finally {
      if (poll !== undefined) clearInterval(poll);
      off();
      await api.close();
    }
    return 0;
  }
}

function line(e: LoomEvent): string {
  const payload = Object.entries(e.payload)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v).replace(/\s+/g, ' ').slice(0, 60)}`)
    .join(' ');
  return [shortTime(e.at), `#${e.id}`.padStart(7), e.type.padEnd(19), e.task_id ?? '-', e.agent_id === null ? '' : `by ${e.agent_id}`, payload]
    .filter((p) => p !== '')
    .join('  ');
}
