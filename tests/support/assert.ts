/**
 * The names of `@std/assert`, implemented on `node:assert/strict`.
 *
 * JSR (where `@std/assert` lives) is unreachable from this project's machines, so the import map
 * points `@std/assert` here. Tests read as std tests; when JSR is reachable, one import-map line
 * swaps in the real package. Only the subset the tests use is offered, with std's semantics.
 */
import nodeAssert from "node:assert/strict";

export class AssertionError extends Error {
  override name = "AssertionError";
}

function fail(msg: string | undefined, fallback: string): never {
  throw new AssertionError(msg ? `${msg}: ${fallback}` : fallback);
}

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  try {
    return Deno.inspect(v, { depth: 6, colors: false });
  } catch {
    return String(v);
  }
}

export function assert(expr: unknown, msg?: string): asserts expr {
  if (!expr) fail(msg, "expected a truthy value");
}

export function assertFalse(expr: unknown, msg?: string): void {
  if (expr) fail(msg, `expected a falsy value, got ${show(expr)}`);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    fail(msg, (e as Error).message);
  }
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.notDeepStrictEqual(actual, expected);
  } catch {
    fail(msg, `expected ${show(actual)} to differ from ${show(expected)}`);
  }
}

export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (!Object.is(actual, expected)) {
    fail(msg, `expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) fail(msg, `expected a value, got ${show(actual)}`);
}

export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) fail(msg, `expected ${show(actual)} to match ${expected}`);
}

export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    fail(msg, `expected ${show(actual)} to include ${show(expected)}`);
  }
}

export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const have = Array.from(actual);
  for (const want of Array.from(expected)) {
    if (!have.some((h) => isDeepEqual(h, want))) {
      fail(msg, `expected ${show(have)} to include ${show(want)}`);
    }
  }
}

export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) fail(msg, `expected ${show(actual)} > ${show(expected)}`);
}

export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) fail(msg, `expected ${show(actual)} >= ${show(expected)}`);
}

export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) fail(msg, `expected ${show(actual)} < ${show(expected)}`);
}

export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) fail(msg, `expected ${show(actual)} <= ${show(expected)}`);
}

export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    fail(msg, `expected an instance of ${expectedType.name}, got ${show(actual)}`);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  err: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  if (ErrorClass && !(err instanceof ErrorClass)) {
    fail(msg, `expected error of class ${ErrorClass.name}, got ${show(err)}`);
  }
  if (msgIncludes !== undefined) {
    const m = err instanceof Error ? err.message : String(err);
    if (!m.includes(msgIncludes)) {
      fail(msg, `expected error message to include ${show(msgIncludes)}, got ${show(m)}`);
    }
  }
  return err as E;
}

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes, msg);
  }
  fail(msg, "expected the function to throw");
}

export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes, msg);
  }
  fail(msg, "expected the promise to reject");
}

export function unreachable(msg?: string): never {
  fail(msg, "unreachable code was reached");
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    nodeAssert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
