/**
 * Runtime functions the Go unwinder treats specially, recognized by name
 * because their funcID values change between releases.
 *
 * @module
 */

/**
 * Runtime functions the unwinder treats specially, matched by name (funcID
 * values change between releases).
 */
export const enum GoSpecial {
  /** An ordinary function. */
  None = 0,
  /** runtime.goexit */
  Goexit,
  /** runtime.mstart, runtime.mstart0 */
  Mstart,
  /** runtime.rt0_go */
  Rt0Go,
  /** runtime.systemstack */
  Systemstack,
  /** runtime.systemstack_switch */
  SystemstackSwitch,
  /** runtime.morestack, runtime.morestack_noctxt */
  Morestack,
  /** runtime.mcall */
  Mcall,
  /** runtime.asmcgocall, runtime.asmcgocall_landingpad */
  Asmcgocall,
  /** runtime.cgocallback */
  Cgocallback,
  /** runtime.sigtramp, runtime.sigreturn__sigaction */
  Sigtramp,
}

/** Special runtime functions by symbol name (with their ABI0 wrappers). */
export const SPECIAL_BY_NAME: ReadonlyMap<string, GoSpecial> = new Map([
  ["runtime.goexit", GoSpecial.Goexit],
  ["runtime.goexit.abi0", GoSpecial.Goexit],
  ["runtime.mstart", GoSpecial.Mstart],
  ["runtime.mstart0", GoSpecial.Mstart],
  ["runtime.rt0_go", GoSpecial.Rt0Go],
  ["runtime.systemstack", GoSpecial.Systemstack],
  ["runtime.systemstack.abi0", GoSpecial.Systemstack],
  ["runtime.systemstack_switch", GoSpecial.SystemstackSwitch],
  ["runtime.morestack", GoSpecial.Morestack],
  ["runtime.morestack_noctxt", GoSpecial.Morestack],
  ["runtime.morestack_noctxt.abi0", GoSpecial.Morestack],
  ["runtime.mcall", GoSpecial.Mcall],
  ["runtime.asmcgocall", GoSpecial.Asmcgocall],
  ["runtime.asmcgocall.abi0", GoSpecial.Asmcgocall],
  ["runtime.asmcgocall_landingpad", GoSpecial.Asmcgocall],
  ["runtime.cgocallback", GoSpecial.Cgocallback],
  ["runtime.cgocallback.abi0", GoSpecial.Cgocallback],
  ["runtime.sigtramp", GoSpecial.Sigtramp],
  ["runtime.sigreturn__sigaction", GoSpecial.Sigtramp],
]);
