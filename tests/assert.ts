/**
 * Test assertions over `node:assert` (JSR's @std/assert is not reachable from
 * this project's machines). Names follow @std/assert so tests read the same.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts deep strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts deep strict inequality. */
export function assertNotEquals(
  actual: unknown,
  expected: unknown,
  msg?: string,
): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** Asserts a truthy value. */
export function assert(value: unknown, msg?: string): asserts value {
  nodeAssert.ok(value, msg);
}

/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual(
  actual: number,
  expected: number,
  msg?: string,
): void {
  nodeAssert.ok(actual >= expected, msg ?? `expected ${actual} >= ${expected}`);
}

/** Asserts `actual <= expected`. */
export function assertLessOrEqual(
  actual: number,
  expected: number,
  msg?: string,
): void {
  nodeAssert.ok(actual <= expected, msg ?? `expected ${actual} <= ${expected}`);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(
  text: string,
  part: string,
  msg?: string,
): void {
  nodeAssert.ok(
    text.includes(part),
    msg ??
      `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Asserts that `fn` throws an instance of `errorClass` (when given) and returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClass?: new (...args: any[]) => E,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (err) {
    if (errorClass !== undefined && !(err instanceof errorClass)) {
      throw new nodeAssert.AssertionError({
        message: `expected ${errorClass.name}, got ${
          err instanceof Error ? `${err.name}: ${err.message}` : String(err)
        }`,
      });
    }
    if (msgIncludes !== undefined) {
      assertStringIncludes((err as Error).message, msgIncludes);
    }
    return err as E;
  }
  throw new nodeAssert.AssertionError({
    message: "expected the function to throw",
  });
}

/** Asserts that `fn` rejects with an instance of `errorClass` (when given) and returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClass?: new (...args: any[]) => E,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (errorClass !== undefined && !(err instanceof errorClass)) {
      throw new nodeAssert.AssertionError({
        message: `expected ${errorClass.name}, got ${
          err instanceof Error ? `${err.name}: ${err.message}` : String(err)
        }`,
      });
    }
    if (msgIncludes !== undefined) {
      assertStringIncludes((err as Error).message, msgIncludes);
    }
    return err as E;
  }
  throw new nodeAssert.AssertionError({
    message: "expected the promise to reject",
  });
}

/** Fails the test. */
export function fail(msg: string): never {
  throw new nodeAssert.AssertionError({ message: msg });
}
