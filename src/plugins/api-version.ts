/**
 * The version of the public plugin API (`loom-agents/plugin`), semver. The host
 * checks each plugin's `loom.apiVersion` range against it before loading the
 * plugin (a range that does not admit it: listed, contributing nothing); see
 * src/plugins/api.ts for what counts as a breaking change.
 */
export const PLUGIN_API_VERSION = '1.5.0';
