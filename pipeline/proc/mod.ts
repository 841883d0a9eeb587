/**
 * Process tracking: `/proc/PID/maps` parsing, process facts, the shared cache
 * of parsed object files, and the process table that resolves pcs to modules.
 *
 * @module
 */
export * from "./maps.ts";
export * from "./process_info.ts";
export * from "./object_cache.ts";
export * from "./table.ts";
export * from "./live_source.ts";
