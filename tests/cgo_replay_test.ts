/**
 * cgo crossings without a kernel: the recordings under
 * tests/fixtures/recordings/cgo (Go 1.21 and 1.26; re-record with its
 * record.ts) replayed through the pipeline. Each holds the main cgo shape,
 * the callback shape and the C-created-thread shape.
 */
import { assert, assertEquals, assertGreaterOrEqual } from "./assert.ts";
import { replayRecording } from "../agent/replay.ts";
import { accumulateFolded } from "../exporters/folded.ts";

const DIR = new URL("./fixtures/recordings/cgo/", import.meta.url).pathname;
const MAIN = "cgo;runtime.goexit;runtime.main;main.main;main.goOuter;" +
  "main.goMiddle;main.goCallC;main._Cfunc_c_outer;runtime.cgocall;" +
  "runtime.asmcgocall;";

for (const version of ["1.21", "1.26"]) {
  Deno.test(`cgo replay go${version}: main, callback and C-thread shapes`, async () => {
    const { windows, stats } = await replayRecording(`${DIR}go${version}`);
    const totals = new Map<string, number>();
    for (const w of windows) accumulateFolded(w, totals);
    const user = (s: string) =>
      s.split(";").filter((f) => !f.endsWith("_[k]")).join(";");
    let main = 0, mainOk = 0, cb = 0, cbOk = 0, thr = 0, thrOk = 0, pure = 0;
    for (const [stack, n] of totals) {
      const s = user(stack);
      if (s.endsWith(";c_outer;c_inner")) {
        main += n;
        const c = s.slice(MAIN.length);
        if (
          s.startsWith(MAIN) &&
          /^(_cgo_[0-9a-f]+_Cfunc_c_outer;)?c_outer;c_inner$/.test(c)
        ) mainOk += n;
      } else if (s.endsWith(";c_cb_leaf;burn")) {
        cb += n;
        if (
          s.startsWith("cgo_shapes;runtime.goexit;runtime.main;main.main;") &&
          /runtime\.asmcgocall;_cgo_[0-9a-f]+_Cfunc_c_cb_outer;c_cb_outer;goExported;crosscall2;runtime\.cgocallback;.*main\.goExported;main\.goLeafCaller;main\._Cfunc_c_cb_leaf;runtime\.cgocall;runtime\.asmcgocall;_cgo_[0-9a-f]+_Cfunc_c_cb_leaf;c_cb_leaf;burn$/
            .test(s)
        ) cbOk += n;
      } else if (s.endsWith(";c_thread_leaf;burn")) {
        thr += n;
        if (
          /^cgo_shapes;__clone3;start_thread;c_thread_main;goFromThread;crosscall2;runtime\.cgocallback;.*main\.goFromThread;main\.goThreadLeafCaller;main\._Cfunc_c_thread_leaf;runtime\.cgocall;runtime\.asmcgocall;_cgo_[0-9a-f]+_Cfunc_c_thread_leaf;c_thread_leaf;burn$/
            .test(s)
        ) thrOk += n;
      } else if (s.endsWith(";c_thread_pure;burn")) {
        pure += n;
        assertEquals(
          s,
          "cgo_shapes;__clone3;start_thread;c_thread_main;c_thread_pure;burn",
        );
      }
    }
    assertGreaterOrEqual(main, 10, "main shape samples");
    assertEquals(mainOk, main, "every main-shape sample is complete");
    assertGreaterOrEqual(cb, 5, "callback samples");
    assertEquals(cbOk, cb, "every callback sample shows both crossings");
    assertGreaterOrEqual(thr, 3, "C-thread callback samples");
    assertEquals(thrOk, thr, "every C-thread sample reaches the thread start");
    assert(pure > 0, "no pure-C sample of the C thread");
    const p = stats.pipeline;
    assert((p["go.asmcgocall.crossed.syscall"] ?? 0) > 0, JSON.stringify(p));
    assert((p["go.asmcgocall.crossed.g0frame"] ?? 0) > 0, JSON.stringify(p));
    assert((p["go.cgocallback.crossed"] ?? 0) > 0, JSON.stringify(p));
    assert((p["go.extraM.pureC"] ?? 0) > 0, JSON.stringify(p));
    assertEquals(p["go.asmcgocall.inconsistent"] ?? 0, 0);
  });
}
