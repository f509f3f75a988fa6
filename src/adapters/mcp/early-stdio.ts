import { StringDecoder } from 'node:string_decoder';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { initializeResult } from './server-info.js';

/** The id the early-answered initialize is handed to the SDK server under: its answer was sent already. */
const REPLAYED_ID = 'loom-early-initialize';

/**
 * Reads `loom mcp`'s stdin from the first moment of the process, before the
 * SDK, the tools and the CLI are loaded (~0.4 s on a small machine): the
 * client's `initialize` is answered at once from server-info.ts (Claude Code
 * shows the server as connecting until then), and every line is kept for the
 * SDK server. When it is connected (`transport()`), it reads the lines in
 * order, the initialize included under another id (so that it knows the
 * client's name and capabilities as usual), and its second answer to
 * initialize is dropped. Loads nothing from the SDK until `transport()`.
 */
export class EarlyStdio {
  private pending = '';
  private readonly lines = new PassThrough();
  private answered = false;
  /** Lines that came after the early-answered initialize, held until the SDK server has read it. */
  private held: (string | null)[] | null = null;
  private ended = false;
  private readonly onEnd: (() => void)[] = [];
  private readonly decoder = new StringDecoder('utf8'); // a character may be split across chunks
  private readonly ondata = (chunk: Buffer | string): void => this.read(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  private readonly onend = (): void => {
    if (this.ended) return;
    this.pending += this.decoder.end();
    if (this.pending !== '') this.push(this.pending);
    this.pending = '';
    this.push(null);
    this.ended = true;
    for (const fn of this.onEnd.splice(0)) fn();
  };

  constructor(
    private readonly version: string,
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
  ) {
    stdin.on('data', this.ondata);
    stdin.once('end', this.onend);
    stdin.once('close', this.onend);
  }

  private read(text: string): void {
    this.pending += text;
    let i: number;
    while ((i = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, i + 1);
      this.pending = this.pending.slice(i + 1);
      const next = this.answered ? line : this.early(line);
      if (next !== null) this.push(next);
    }
  }

  /** A line (null: the end) for the SDK server, in order; held while it has not answered the replayed initialize. */
  private push(line: string | null): void {
    if (this.held !== null) this.held.push(line);
    else if (line === null) this.lines.end();
    else this.lines.write(line);
  }

  /**
   * Lines after the initialize wait for the SDK server's answer to it: it handles messages
   * asynchronously, and would otherwise take the client's notifications/initialized before it
   * knows the client (a client waits for that answer before sending anything else).
   */
  private release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const line of held) this.push(line);
  }

  /** The line as the SDK server is to read it: the first initialize request answered here, and renamed. */
  private early(line: string): string | null {
    if (!line.includes('"initialize"')) return line;
    let msg: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: { protocolVersion?: unknown; capabilities?: unknown; clientInfo?: { name?: unknown; version?: unknown } } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return line; // the SDK answers what is wrong with it
    }
    const p = msg?.params;
    const wellFormed =
      msg.jsonrpc === '2.0' &&
      msg.method === 'initialize' &&
      (typeof msg.id === 'string' || typeof msg.id === 'number') &&
      typeof p?.protocolVersion === 'string' &&
      typeof p.capabilities === 'object' &&
      p.capabilities !== null &&
      typeof p.clientInfo?.name === 'string' &&
      typeof p.clientInfo.version === 'string';
    if (!wellFormed) return line;
    this.answered = true;
    this.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: initializeResult(p.protocolVersion, this.version) })}\n`);
    this.lines.write(`${JSON.stringify({ ...msg, id: REPLAYED_ID })}\n`);
    this.held = [];
    return null;
  }

  /** Calls `fn` once stdin has ended or closed (at once if it has). */
  whenStdinEnds(fn: () => void): void {
    if (this.ended) fn();
    else this.onEnd.push(fn);
  }

  /** The SDK's stdio transport, reading what came and comes on stdin; its answer to the replayed initialize is dropped. */
  async transport(): Promise<Transport> {
    const { StdioServerTransport } = await import('#mcp-sdk');
    const transport = new StdioServerTransport(this.lines, this.stdout);
    const send = transport.send.bind(transport);
    transport.send = async (msg: JSONRPCMessage) => {
      if ('id' in msg && msg.id === REPLAYED_ID && !('method' in msg)) {
        this.release();
        return;
      }
      await send(msg);
    };
    return transport;
  }

  /** Stops reading stdin (the process was not to serve MCP after all: a usage error, a help text). */
  dispose(): void {
    this.stdin.off('data', this.ondata);
    this.stdin.off('end', this.onend);
    this.stdin.off('close', this.onend);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
  }
}
