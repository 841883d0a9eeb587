/**
 * `pprof:PATH` — writes each window as a gzipped pprof profile.proto with the
 * pprof-format package: sample types `samples/count` and `cpu/nanoseconds`
 * (count × period), period type `cpu/nanoseconds`. One file per window (see
 * {@linkcode windowPath}); all processes of the window go in one profile.
 *
 * Labels per sample: `pid`, `thread.id` and `goroutine` (numbers),
 * `process`, `thread.name` and `cpu` (strings; pprof readers drop numeric
 * labels equal to 0, which CPU 0 would be), and the goroutine's own pprof labels
 * under their own keys, as Go's runtime/pprof writes them. The process is a
 * label rather than a frame: `go tool pprof -tagroot=process` puts it back at
 * the root, which gives the same stacks as the folded output. Error frames
 * keep their `[unwind: REASON]` name; unsymbolized frames have no line and
 * pprof shows their address.
 *
 * @module
 */
import {
  Function as PprofFunction,
  Label,
  Location as PprofLocation,
  Mapping as PprofMapping,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";
import type { Location, Mapping, ProfileWindow } from "../pipeline/model.ts";
import type { Exporter } from "./exporter.ts";
import { gzipBytes } from "./_gzip.ts";
import { windowPath } from "./_window_path.ts";

/**
 * Creates the pprof exporter.
 *
 * @param path Output path (conventionally `*.pb.gz` or `*.pprof`).
 * @returns The exporter.
 *
 * @example
 * ```ts
 * import { createPprofExporter } from "./pprof.ts";
 * const exporter = createPprofExporter(await Deno.makeTempFile({ suffix: ".pb.gz" }));
 * await exporter.close();
 * ```
 */
export function createPprofExporter(path: string): Exporter {
  let index = 0;
  return {
    name: `pprof:${path}`,
    async export(window: ProfileWindow): Promise<void> {
      const bytes = await gzipBytes(encodePprof(window));
      await Deno.writeFile(windowPath(path, index++), bytes);
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

/**
 * Encodes a window as an uncompressed pprof profile.proto.
 *
 * @param window The window.
 * @returns The profile bytes.
 *
 * @example
 * ```ts
 * import { Profile } from "pprof-format";
 * import { strictEqual } from "node:assert";
 * import { encodePprof } from "./pprof.ts";
 * const bytes = encodePprof({ startUnixNano: 0n, durationNano: 1n, frequency: 100, processes: [] });
 * strictEqual(Profile.decode(bytes).sample.length, 0);
 * ```
 */
export function encodePprof(window: ProfileWindow): Uint8Array {
  const strings = new StringTable();
  const period = Math.round(1e9 / window.frequency);
  const mappings = new Map<string, PprofMapping>();
  const mappingOf = new Map<Mapping, PprofMapping>();
  const functions = new Map<string, PprofFunction>();
  const locations = new Map<string, PprofLocation>();
  const locationOf = new Map<Location, PprofLocation>();
  const samples = new Map<string, Sample>();

  const mapping = (m: Mapping): PprofMapping => {
    let pm = mappingOf.get(m);
    if (pm) return pm;
    const key = `${m.start},${m.limit},${m.fileOffset},${m.path}`;
    pm = mappings.get(key);
    if (!pm) {
      pm = new PprofMapping({
        id: mappings.size + 1,
        memoryStart: m.start,
        memoryLimit: m.limit,
        fileOffset: m.fileOffset,
        filename: strings.dedup(m.path),
        buildId: strings.dedup(m.buildIds.gnu ?? m.buildIds.go ?? ""),
        hasFunctions: true,
      });
      mappings.set(key, pm);
    }
    mappingOf.set(m, pm);
    return pm;
  };
  const fn = (name: string, system: string, file: string): number => {
    const key = `${name}\0${system}\0${file}`;
    let f = functions.get(key);
    if (!f) {
      f = new PprofFunction({
        id: functions.size + 1,
        name: strings.dedup(name),
        systemName: strings.dedup(system),
        filename: strings.dedup(file),
      });
      functions.set(key, f);
    }
    return Number(f.id);
  };
  const location = (loc: Location): number => {
    let pl = locationOf.get(loc);
    if (pl) return Number(pl.id);
    const mappingId = loc.mapping ? Number(mapping(loc.mapping).id) : 0;
    const lines = loc.lines.map((l) => ({
      functionId: fn(
        l.functionName,
        l.systemName ?? l.functionName,
        l.fileName ?? "",
      ),
      line: l.line ?? 0,
    }));
    const key = `${mappingId},${loc.address},${
      lines.map((l) => `${l.functionId}:${l.line}`).join(";")
    }`;
    pl = locations.get(key);
    if (!pl) {
      pl = new PprofLocation({
        id: locations.size + 1,
        mappingId,
        address: loc.address,
        line: lines,
      });
      locations.set(key, pl);
    }
    locationOf.set(loc, pl);
    return Number(pl.id);
  };

  for (const { process, samples: groups } of window.processes) {
    for (const g of groups) {
      if (g.count === 0) continue;
      const ids = g.stack.map(location);
      const a = g.attributes;
      const labels: Label[] = [
        new Label({ key: strings.dedup("pid"), num: process.pid }),
        new Label({
          key: strings.dedup("process"),
          str: strings.dedup(process.name),
        }),
        new Label({ key: strings.dedup("thread.id"), num: a.threadId }),
        new Label({
          key: strings.dedup("thread.name"),
          str: strings.dedup(a.threadName),
        }),
        // A string: pprof drops numeric labels whose value is 0 (CPU 0).
        new Label({
          key: strings.dedup("cpu"),
          str: strings.dedup(String(a.cpu)),
        }),
      ];
      if (a.goroutineId !== undefined) {
        labels.push(
          new Label({ key: strings.dedup("goroutine"), num: a.goroutineId }),
        );
      }
      for (const k of Object.keys(a.goLabels ?? {}).sort()) {
        labels.push(
          new Label({
            key: strings.dedup(k),
            str: strings.dedup(a.goLabels![k]!),
          }),
        );
      }
      const key = `${ids.join(",")}|${
        labels.map((l) => `${l.key}=${l.str}/${l.num}`).join(",")
      }`;
      const s = samples.get(key);
      if (s) {
        s.value[0] = Number(s.value[0]) + g.count;
        s.value[1] = Number(s.value[1]) + g.count * period;
      } else {
        samples.set(
          key,
          new Sample({
            locationId: ids,
            value: [g.count, g.count * period],
            label: labels,
          }),
        );
      }
    }
  }

  const profile = new Profile({
    sampleType: [
      new ValueType({
        type: strings.dedup("samples"),
        unit: strings.dedup("count"),
      }),
      new ValueType({
        type: strings.dedup("cpu"),
        unit: strings.dedup("nanoseconds"),
      }),
    ],
    sample: [...samples.values()],
    mapping: [...mappings.values()],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: window.startUnixNano,
    durationNanos: window.durationNano,
    periodType: new ValueType({
      type: strings.dedup("cpu"),
      unit: strings.dedup("nanoseconds"),
    }),
    period,
  });
  return profile.encode();
}
