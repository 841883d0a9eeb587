/**
 * Gzip with the web CompressionStream (no dependency).
 *
 * @module
 */

/**
 * Gzips bytes.
 *
 * @param bytes Input.
 * @returns One gzip member.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { gzipBytes } from "./_gzip.ts";
 * strictEqual((await gzipBytes(new Uint8Array(10)))[0], 0x1f);
 * ```
 */
export async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
