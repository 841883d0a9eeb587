/**
 * Primitives for reading untrusted binary input: byte sources, a bounds-checked
 * cursor, and the error every parser throws.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./source.ts";
export * from "./reader.ts";
