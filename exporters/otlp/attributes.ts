/**
 * Attribute names denoprof puts on OTLP profiles, and how values are typed.
 *
 * Resource and location names follow OpenTelemetry semantic conventions.
 * There is no convention yet for goroutines or pprof labels; denoprof uses
 * `go.goroutine.id` (int) and `pprof.label.<key>` (string), so a pprof label
 * `handler=/api` becomes the sample attribute `pprof.label.handler = "/api"`.
 *
 * @module
 */

/** Resource attribute: process id (int). */
export const PROCESS_PID = "process.pid";
/** Resource attribute: executable base name. */
export const PROCESS_EXECUTABLE_NAME = "process.executable.name";
/** Resource attribute: executable path. */
export const PROCESS_EXECUTABLE_PATH = "process.executable.path";
/** Resource attribute: command line joined by spaces. */
export const PROCESS_COMMAND_LINE = "process.command_line";
/** Resource attribute: container id from the cgroup path. */
export const CONTAINER_ID = "container.id";
/** Resource attribute: logical service name. */
export const SERVICE_NAME = "service.name";
/** Resource attribute: host name. */
export const HOST_NAME = "host.name";
/** Resource attribute: CPU architecture (`amd64`, `arm64`). */
export const HOST_ARCH = "host.arch";

/** Mapping (and resource) attribute: hex `.note.gnu.build-id`. */
export const BUILD_ID_GNU = "process.executable.build_id.gnu";
/** Mapping (and resource) attribute: Go build id. */
export const BUILD_ID_GO = "process.executable.build_id.go";
/** Mapping (and resource) attribute: hex hash of head, tail and length. */
export const BUILD_ID_HTLHASH = "process.executable.build_id.htlhash";

/** Sample attribute: kernel thread id (int). */
export const THREAD_ID = "thread.id";
/** Sample attribute: thread name (comm). */
export const THREAD_NAME = "thread.name";
/** Sample attribute: logical CPU number (int). */
export const CPU_LOGICAL_NUMBER = "cpu.logical_number";
/** Sample attribute: Go goroutine id (int). denoprof's own name. */
export const GO_GOROUTINE_ID = "go.goroutine.id";
/** Sample attribute prefix for pprof labels (`pprof.label.<key>`). denoprof's own name. */
export const PPROF_LABEL_PREFIX = "pprof.label.";

/** Location attribute: `native`, `kernel`, `go` or `abort-marker`. */
export const PROFILE_FRAME_TYPE = "profile.frame.type";
/** The frame type of error frames, as opentelemetry-ebpf-profiler names it. */
export const FRAME_TYPE_ABORT = "abort-marker";

/** An attribute value as denoprof emits it: OTLP string or int. */
export type AttributeValue = string | number | bigint;
