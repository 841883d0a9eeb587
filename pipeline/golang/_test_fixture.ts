/**
 * Test helper: a Go fixture binary of the newest toolchain in the cache, for
 * the unit tests beside the code. Returns `undefined` when no toolchain is
 * present (outside CI; under CI the missing toolchain fails the test).
 *
 * @module
 */
import {
  buildFixture,
  type GoVariant,
  requireToolchains,
} from "../../tests/fixtures/go/toolchains.ts";

/**
 * Path of the `chain` fixture built by the newest cached toolchain.
 *
 * @param variant Build variant.
 * @returns The path, or `undefined` without toolchains (outside CI).
 */
export async function newestChainFixture(
  variant: GoVariant = "default",
): Promise<string | undefined> {
  const tcs = requireToolchains();
  const tc = tcs[tcs.length - 1];
  if (tc === undefined) return undefined;
  return await buildFixture(tc, "chain", variant);
}
