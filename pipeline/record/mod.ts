/**
 * Sample records from the BPF sampler: the layout mirror of bpf/profiler.h
 * and the zero-copy decoder.
 *
 * @module
 */
export * from "./layout.ts";
export * from "./decode.ts";
export { BinaryFormatError } from "../binary/errors.ts";
