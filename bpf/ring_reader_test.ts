import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { RingReader } from "./ring_reader.ts";

const SIZE = 64;
const PAGE = 8;

/** A fake ring in plain memory; writes go to both copies of the data area. */
function fakeRing() {
  const consumer = new ArrayBuffer(8);
  const producer = new ArrayBuffer(PAGE + 2 * SIZE);
  const data = new Uint8Array(producer, PAGE);
  const cons = new BigUint64Array(consumer);
  const prod = new BigUint64Array(producer, 0, 1);
  let head = 0;
  const put = (payload: number[], bits = 0) => {
    const rec = new Uint8Array(8 + payload.length);
    new DataView(rec.buffer).setUint32(0, payload.length | bits, true);
    rec.set(payload, 8);
    for (let i = 0; i < rec.length; i++) {
      const at = (head + i) % SIZE;
      data[at] = rec[i]!;
      data[at + SIZE] = rec[i]!;
    }
    const at = head;
    head += (rec.length + 7) & ~7;
    prod[0] = BigInt(head);
    return at;
  };
  const setBits = (at: number, len: number, bits: number) => {
    for (const base of [0, SIZE]) {
      new DataView(producer, PAGE + base + (at % SIZE)).setUint32(
        0,
        len | bits,
        true,
      );
    }
  };
  return {
    reader: RingReader.fromMemory(consumer, producer, SIZE, PAGE),
    put,
    setBits,
    cons,
  };
}

function drainAll(r: RingReader): number[][] {
  const out: number[][] = [];
  r.drain((b) => out.push([...b]));
  return out;
}

Deno.test("RingReader.drain() yields records in order and commits the consumer position", () => {
  const { reader, put, cons } = fakeRing();
  put([1, 2, 3]);
  put([4]);
  deepStrictEqual(drainAll(reader), [[1, 2, 3], [4]]);
  strictEqual(cons[0], 32n); // two records of 8 + pad(3|1 → 8)
  deepStrictEqual(drainAll(reader), []);
});

Deno.test("RingReader.drain() skips discarded records and stops at a busy one", () => {
  const { reader, put, setBits, cons } = fakeRing();
  put([9, 9], 0x40000000);
  put([5]);
  const busy = put([6, 6]);
  setBits(busy, 2, 0x80000000);
  deepStrictEqual(drainAll(reader), [[5]]);
  strictEqual(cons[0], 32n, "consumer stops before the busy record");
  setBits(busy, 2, 0);
  deepStrictEqual(drainAll(reader), [[6, 6]]);
});

Deno.test("RingReader hands out a record that wraps the end as one contiguous view", () => {
  const { reader, put } = fakeRing();
  put(new Array(40).fill(1)); // 48 bytes
  drainAll(reader);
  const payload = Array.from({ length: 20 }, (_, i) => i); // starts at 48, wraps at 64
  put(payload);
  deepStrictEqual(drainAll(reader), [payload]);
});

Deno.test("RingReader.next()/commit() lease records until commit", () => {
  const { reader, put, cons } = fakeRing();
  put([7]);
  put([8]);
  deepStrictEqual([...reader.next()!], [7]);
  deepStrictEqual([...reader.next()!], [8]);
  strictEqual(reader.next(), undefined);
  strictEqual(cons[0], 0n, "nothing released before commit");
  reader.commit();
  strictEqual(cons[0], 32n);
});
