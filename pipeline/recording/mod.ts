/**
 * Record and replay of everything the pipeline reads.
 *
 * @module
 */
export * from "./format.ts";
export * from "./recording_source.ts";
export * from "./replay_source.ts";
export * from "./slim_elf.ts";
export * from "./records_file.ts";
