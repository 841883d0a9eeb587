/**
 * deno-bpf: load the denoprof BPF sampler from Deno and read its records.
 * {@linkcode Sampler} is the entry point; the rest is the machinery beneath.
 *
 * @module
 */
export * from "./sampler.ts";
export * from "./privileges.ts";
export * from "./errors.ts";
export * from "./go_proc.ts";
export { BpfMap, BpfObject, possibleCpus } from "./loader.ts";
export { onlineCpus, parseCpuList, PerfEvents } from "./perf_event.ts";
export { LibbpfRingReader, RingReader } from "./ring_reader.ts";
