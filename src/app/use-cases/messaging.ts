import type { Message } from '../../domain/message.js';
import { withinBytes } from './bounded.js';
import type { UseCaseDeps } from './deps.js';
import { assertProjectOpen } from './remove-project.js';

/** Agents message each other through persisted inboxes: an agent that was away reads them later. */

export async function sendMessage(
  d: UseCaseDeps,
  input: { project_id: string; from_agent: string; to_agent: string; body: string; thread_id?: string },
): Promise<Message> {
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await assertProjectOpen(tx, input.project_id);
    await tx.touchAgent(input.project_id, input.from_agent, now);
    const message = await tx.insertMessage({
      project_id: input.project_id,
      from_agent: input.from_agent,
      to_agent: input.to_agent,
      thread_id: input.thread_id ?? null,
      body: input.body,
      created_at: now.toISOString(),
    });
    const events = await tx.appendEvents(
      input.project_id,
      [{ type: 'message.sent', task_id: null, agent_id: input.from_agent, payload: { message_id: message.id, to: message.to_agent, thread_id: message.thread_id } }],
      now,
    );
    return { message, events };
  });
  d.bus.publish(r.events);
  return r.message;
}

export async function readInbox(
  d: UseCaseDeps,
  input: { project_id: string; agent_id: string; since?: number; limit?: number },
): Promise<Message[]> {
  const now = d.clock.now();
  return d.store.transaction(async (tx) => {
    // The agent's row is locked: two readers of one inbox never get the same message twice.
    const { inbox_cursor } = await tx.touchAgent(input.project_id, input.agent_id, now);
    const messages = withinBytes(await tx.messagesFor(input.project_id, input.agent_id, input.since ?? inbox_cursor, input.limit ?? 50));
    if (messages.length > 0) await tx.setInboxCursor(input.project_id, input.agent_id, messages[messages.length - 1]!.id);
    return messages;
  });
}
