/**
 * OTLP profiles (opentelemetry-proto v1.11.0): building messages from the
 * neutral model and the gRPC, HTTP and file exporters.
 *
 * @module
 */
export * from "./attributes.ts";
export * from "./build.ts";
export * from "./config.ts";
export * from "./file.ts";
export * from "./grpc.ts";
export * from "./http.ts";
export * from "./resource.ts";
