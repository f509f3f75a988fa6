// What Loom's own MCP server code takes from @modelcontextprotocol/sdk at run time, bundled into
// dist/src/vendor/mcp-sdk.js by scripts/bundle-vendor.mjs (Loom imports it as `#mcp-sdk`). The
// client side (demo-main.ts, the tests) imports the package itself; the HTTP transport is in
// scripts/vendor/mcp-sdk-http.js.
export { Server } from '@modelcontextprotocol/sdk/server/index.js';
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
export { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
export * from '@modelcontextprotocol/sdk/types.js';
