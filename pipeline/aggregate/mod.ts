/**
 * Aggregation of symbolized samples into profile windows.
 *
 * @module
 */
export * from "./aggregator.ts";
