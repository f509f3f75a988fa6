// The declarations of scripts/vendor/mcp-sdk.js (the same re-exports): tsconfig maps `#mcp-sdk` here.
export { Server } from '@modelcontextprotocol/sdk/server/index.js';
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
export { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
export * from '@modelcontextprotocol/sdk/types.js';
