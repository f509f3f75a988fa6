import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoomEvent } from '../../domain/events.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource, ProjectContext } from '../../ports/loom-connector.js';
import { scrubEvent, type NewestEvent } from './dashboard-data.js';

const PAGE = 1000;
/** How far behind the newest id a log poll starts: transactions commit out of id order. */
const LOOK_BACK = 200;
/** Live events held while the log is replayed; past it they are dropped and the next poll reads them. */
const MAX_EARLY = 5000;
/** Bytes a slow live client may leave unread (the replay waits for drain instead) before it is cut off (it reconnects with Last-Event-ID and resumes from the log). */
const MAX_UNREAD = 1024 * 1024;
const MAX_SEEN = 20_000;

export interface SseOptions {
  api: LoomApi;
  events: EventSource;
  project: ProjectContext;
  newest: NewestEvent;
  /** Resume after this event id (Last-Event-ID, else `?since=`). */
  since: number;
  heartbeatMs?: number;
  /** How often the log is read as a backstop to pushed events (default 2 s; 500 ms when nothing pushes). */
  pollMs?: number;
}

/**
 * The project's events as server-sent events, each with its id: first those
 * after `since` from the log, then each as it commits (pushed by the event
 * source, with the log read now and then for what a lost push missed).
 * A browser reconnecting sends the last id it got, so nothing is lost
 * across a dropped connection. Bounded: heartbeats, a cap on unread bytes
 * and on events held during the replay, and everything stops when the
 * client goes.
 */
export function streamEvents(req: IncomingMessage, res: ServerResponse, o: SseOptions): Promise<void> {
  const projectId = o.project.project_id;
  const pushed = o.project.mode === 'embedded' || o.project.redis === true;
  const seen = new Set<number>();
  let newest = o.since;
  let closed = false;
  let replaying = true;
  let early: LoomEvent[] = [];

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');

  const send = (e: LoomEvent): void => {
    if (closed || e.id <= o.since || seen.has(e.id)) return;
    seen.add(e.id);
    if (seen.size > MAX_SEEN) for (const id of seen) if (id < newest - 2 * LOOK_BACK) seen.delete(id);
    newest = Math.max(newest, e.id);
    o.newest.saw(e.id);
    res.write(`id: ${e.id}\nevent: loom\ndata: ${JSON.stringify(scrubEvent(e))}\n\n`);
    if (!replaying && res.writableLength > MAX_UNREAD) res.destroy();
  };

  return new Promise<void>((resolve) => {
    let poll: NodeJS.Timeout | undefined;
    const off = pushed
      ? o.events.subscribe(projectId, (e) => {
          if (!replaying) return send(e);
          if (early.length < MAX_EARLY) early.push(e);
        })
      : () => {};
    const heartbeat = setInterval(() => {
      if (!closed) res.write(': ping\n\n');
    }, o.heartbeatMs ?? 15_000);
    const stop = (): void => {
      if (closed) return;
      closed = true;
      off();
      clearInterval(heartbeat);
      if (poll !== undefined) clearInterval(poll);
      resolve();
    };
    req.once('close', stop);
    res.once('close', stop);
    res.once('error', stop);

    // 'drain' comes only after a write was refused: wait for it then, never on a merely non-empty buffer.
    const drained = (): Promise<void> => (!res.writableNeedDrain || closed ? Promise.resolve() : new Promise((r) => res.once('drain', r).once('close', r)));

    void (async () => {
      try {
        let cursor = o.since;
        while (!closed) {
          const page = await o.api.events({ project_id: projectId, since: cursor, limit: PAGE });
          page.forEach(send);
          await drained();
          if (page.length === 0) break;
          cursor = page.at(-1)!.id;
        }
        replaying = false;
        const held = early.sort((a, b) => a.id - b.id);
        early = [];
        held.forEach(send);
        if (closed) return;
        let busy = false;
        poll = setInterval(
          () => {
            if (busy || closed) return;
            busy = true;
            o.api
              .events({ project_id: projectId, since: Math.max(o.since, newest - LOOK_BACK), limit: PAGE })
              .then((p) => p.forEach(send), () => undefined)
              .finally(() => (busy = false));
          },
          o.pollMs ?? (pushed ? 2_000 : 500),
        );
      } catch {
        // The log is unreadable (the daemon restarting, the database gone): end the stream; the browser reconnects and resumes.
        res.destroy();
      }
    })();
  });
}
