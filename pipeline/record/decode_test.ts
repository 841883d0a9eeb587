import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { BinaryFormatError } from "../binary/errors.ts";
import { buildRecord } from "./_build.ts";
import {
  decodeBatch,
  decodeRecord,
  frameRecords,
  splitFramed,
} from "./decode.ts";
import { Flag, Off, RECORD_HEADER_SIZE } from "./layout.ts";

const KADDR = 0xffffffff81234567n;

Deno.test("decodeRecord() decodes every header field and views the stacks", () => {
  const ustack = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const gstack = new Uint8Array([0xaa, 0xbb]);
  const rec = buildRecord({
    flags: Flag.USER_REGS | Flag.KERNEL_MODE | Flag.GO | Flag.GSTACK,
    pid: 4242,
    tid: 4243,
    cpu: 1,
    ktimeNs: 123456789012345n,
    comm: "worker",
    regs: [0x401000n, 0x7ffc0000f000n, 0x7ffc0000f040n, 0n],
    tlsBase: 0x7f0000001740n,
    kstack: [KADDR, KADDR + 16n],
    ustack,
    ustackErr: -14,
    gstack,
    gstackBase: 0xc000123f00n,
    go: {
      go_g: 0x100n,
      go_m: 0x200n,
      go_curg: 0x300n,
      go_curg_m: 0x200n,
      go_goid: 17n,
      go_syscall_bp: 9n,
    },
  });
  const s = decodeRecord(rec);
  strictEqual(s.pid, 4242);
  strictEqual(s.tid, 4243);
  strictEqual(s.cpu, 1);
  strictEqual(s.ktimeNs, 123456789012345);
  strictEqual(s.comm, "worker");
  ok(s.hasUserRegs && s.kernelMode);
  strictEqual(s.pc, 0x401000);
  strictEqual(s.sp, 0x7ffc0000f000);
  strictEqual(s.fp, 0x7ffc0000f040);
  strictEqual(s.tlsBase, 0x7f0000001740);
  deepStrictEqual([...s.kstack], [KADDR, KADDR + 16n]);
  strictEqual(s.kstackErr, 0);
  strictEqual(s.ustack.base, s.sp);
  deepStrictEqual([...s.ustack.bytes], [...ustack]);
  strictEqual(s.ustack.err, -14);
  strictEqual(
    s.ustack.bytes.buffer,
    rec.buffer,
    "ustack is a view, not a copy",
  );
  strictEqual(s.gstack.base, 0xc000123f00);
  deepStrictEqual([...s.gstack.bytes], [0xaa, 0xbb]);
  strictEqual(s.gstack.bytes.buffer, rec.buffer);
  strictEqual(s.go?.g, 0x100);
  strictEqual(s.go?.curgM, 0x200);
  strictEqual(s.go?.goid, 17);
  strictEqual(s.go?.syscallBp, 9);
  strictEqual(s.go?.readError, false);
});

Deno.test("decodeRecord() handles no user regs, kstack error and unaligned input", async (t) => {
  await t.step("kstack error", () => {
    const s = decodeRecord(
      buildRecord({ kstackErr: -14, comm: "kworker/0:1" }),
    );
    strictEqual(s.kstackErr, -14);
    strictEqual(s.kstack.length, 0);
    strictEqual(s.hasUserRegs, false);
    strictEqual(s.go, undefined);
    strictEqual(s.comm, "kworker/0:1");
  });
  await t.step("unaligned copy keeps kernel addresses exact", () => {
    const rec = buildRecord({ kstack: [KADDR] });
    const shifted = new Uint8Array(rec.length + 3);
    shifted.set(rec, 3);
    deepStrictEqual([...decodeRecord(shifted.subarray(3)).kstack], [KADDR]);
  });
  await t.step("full 16-byte comm without NUL", () => {
    const rec = buildRecord({});
    rec.set(new TextEncoder().encode("abcdefghijklmnop"), Off.comm);
    strictEqual(decodeRecord(rec).comm, "abcdefghijklmnop");
  });
});

Deno.test("decodeRecord() rejects truncated and corrupt records", async (t) => {
  const good = buildRecord({
    kstack: [KADDR],
    ustack: new Uint8Array(64),
    pid: 7,
  });
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["short header", good.subarray(0, RECORD_HEADER_SIZE - 1)],
    ["truncated stack", good.subarray(0, good.length - 1)],
    ["trailing bytes", new Uint8Array([...good, 0])],
    ["wrong version", buildRecord({ version: 3 })],
  ];
  const badLen = good.slice();
  new DataView(badLen.buffer).setUint32(Off.ustack_len, 0xffffffff, true);
  cases.push(["huge ustack_len", badLen]);
  const oddK = good.slice();
  new DataView(oddK.buffer).setInt32(Off.kstack_len, 7, true);
  cases.push(["kstack_len not a multiple of 8", oddK]);
  const hdr = good.slice();
  new DataView(hdr.buffer).setUint32(Off.header_size, 200, true);
  cases.push(["wrong header_size", hdr]);
  const v1As2 = buildRecord({ version: 1 });
  new DataView(v1As2.buffer).setUint16(Off.version, 2, true);
  cases.push(["version 2 with the version 1 header_size", v1As2]);
  for (const [name, bytes] of cases) {
    await t.step(name, () => {
      throws(() => decodeRecord(bytes), BinaryFormatError);
    });
  }
  await t.step("message names the problem", () => {
    throws(() => decodeRecord(buildRecord({ version: 9 })), {
      message: "Cannot decode sample record: version 9 is not 1 or 2",
    });
  });
});

Deno.test("decodeBatch() counts rejected records and frameRecords() round-trips", () => {
  const recs = [
    buildRecord({ pid: 1 }),
    new Uint8Array(5),
    buildRecord({ pid: 2, ustack: new Uint8Array(3) }),
  ];
  const split = splitFramed(frameRecords(recs));
  strictEqual(split.length, 3);
  const pids: number[] = [];
  const r = decodeBatch(split, (s) => pids.push(s.pid));
  deepStrictEqual(r, { decoded: 2, rejected: 1 });
  deepStrictEqual(pids, [1, 2]);
});

Deno.test("decodeRecord() only ever throws BinaryFormatError on random or corrupted bytes", () => {
  const base = buildRecord({
    flags: Flag.GO | Flag.USER_REGS,
    kstack: [KADDR, KADDR],
    ustack: new Uint8Array(40),
    gstack: new Uint8Array(16),
  });
  const check = (bytes: Uint8Array) => {
    try {
      decodeRecord(bytes);
    } catch (e) {
      if (!(e instanceof BinaryFormatError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), {
    numRuns: 500,
  });
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })),
        { maxLength: 8 },
      ),
      fc.nat(base.length),
      (edits, cut) => {
        const b = base.slice(0, cut === 0 ? base.length : cut);
        for (const [at, val] of edits) if (at < b.length) b[at] = val;
        check(b);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("decodeRecord() reads version 2 vDSO words and version 1 records without them", () => {
  const go = { go_g: 0x100n, go_vdso_sp: 0xc000001000n, go_vdso_pc: 0x401234n };
  const v2 = decodeRecord(
    buildRecord({ flags: Flag.GO, go, ustack: new Uint8Array([1, 2]) }),
  );
  strictEqual(v2.go?.vdsoSp, 0xc000001000);
  strictEqual(v2.go?.vdsoPc, 0x401234);
  deepStrictEqual([...v2.ustack.bytes], [1, 2]);
  const rec1 = buildRecord({
    version: 1,
    flags: Flag.GO,
    go,
    ustack: new Uint8Array([3, 4]),
  });
  strictEqual(rec1.length, 240 + 2);
  const v1 = decodeRecord(rec1);
  strictEqual(v1.go?.g, 0x100);
  strictEqual(v1.go?.vdsoSp, 0);
  strictEqual(v1.go?.vdsoPc, 0);
  deepStrictEqual([...v1.ustack.bytes], [3, 4]);
});
