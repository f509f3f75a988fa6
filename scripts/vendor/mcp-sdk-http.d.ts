// The declarations of scripts/vendor/mcp-sdk-http.js: tsconfig maps `#mcp-sdk-http` here.
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
