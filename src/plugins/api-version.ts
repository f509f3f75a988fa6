/**
 * The version of the plugin API this Loom implements. A plugin's manifest
 * (`loom.apiVersion`, a semver range) must admit it, or the plugin is listed
 * and contributes nothing. The public plugin API re-exports it.
 */
export const PLUGIN_API_VERSION = '1.0.0';
