// The MCP SDK's Streamable HTTP server transport, for `loom serve` (src/adapters/mcp/http-server.ts):
// bundled apart from scripts/vendor/mcp-sdk.js (with which it shares chunks), so that `loom mcp`
// does not load it and its HTTP server (hono).
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
