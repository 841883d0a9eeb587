/**
 * Builds one ProfilesDictionary: every table deduplicated, only referenced
 * rows added (no orphans), index 0 the zero value of each table.
 *
 * Locations and mappings are looked up by object identity first (the model
 * interns them), then by value, so a non-interned model is still deduplicated.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  AnyValueSchema,
} from "../../gen/opentelemetry/proto/common/v1/common_pb.ts";
import {
  type Function as OtlpFunction,
  FunctionSchema,
  type KeyValueAndUnit,
  KeyValueAndUnitSchema,
  type Line as OtlpLine,
  LineSchema,
  LinkSchema,
  type Location as OtlpLocation,
  LocationSchema,
  type Mapping as OtlpMapping,
  MappingSchema,
  type ProfilesDictionary,
  ProfilesDictionarySchema,
  type Stack,
  StackSchema,
} from "../../gen/opentelemetry/proto/profiles/v1development/profiles_pb.ts";
import type { Line, Location, Mapping } from "../../pipeline/model.ts";
import {
  type AttributeValue,
  BUILD_ID_GNU,
  BUILD_ID_GO,
  BUILD_ID_HTLHASH,
  FRAME_TYPE_ABORT,
  PROFILE_FRAME_TYPE,
} from "./attributes.ts";

const UNWIND_REASON = /^\[unwind: (.*)\]$/;

/** Accumulates the tables of one export. Not reusable across exports. */
export class DictionaryBuilder {
  #strings = new Map<string, number>([["", 0]]);
  #stringTable: string[] = [""];
  #functions = new Map<string, number>();
  #functionTable: OtlpFunction[] = [create(FunctionSchema)];
  #attributes = new Map<string, number>();
  #attributeTable: KeyValueAndUnit[] = [create(KeyValueAndUnitSchema)];
  #mappingsById = new Map<Mapping, number>();
  #mappings = new Map<string, number>();
  #mappingTable: OtlpMapping[] = [create(MappingSchema)];
  #locationsById = new Map<Location, number>();
  #locations = new Map<string, number>();
  #locationTable: OtlpLocation[] = [create(LocationSchema)];
  #stacks = new Map<string, number>();
  #stackTable: Stack[] = [create(StackSchema)];

  /** Index of `s` in the string table, adding it when new. */
  string(s: string): number {
    let i = this.#strings.get(s);
    if (i === undefined) {
      i = this.#stringTable.length;
      this.#stringTable.push(s);
      this.#strings.set(s, i);
    }
    return i;
  }

  /** Index of the attribute `key = value` (int for numbers, else string). */
  attribute(key: string, value: AttributeValue): number {
    const isInt = typeof value !== "string";
    const id = `${isInt ? "i" : "s"}${key}\0${value}`;
    let i = this.#attributes.get(id);
    if (i === undefined) {
      i = this.#attributeTable.length;
      this.#attributeTable.push(create(KeyValueAndUnitSchema, {
        keyStrindex: this.string(key),
        value: create(AnyValueSchema, {
          value: isInt
            ? { case: "intValue", value: BigInt(value) }
            : { case: "stringValue", value },
        }),
      }));
      this.#attributes.set(id, i);
    }
    return i;
  }

  /** Index of the function of a model line. */
  function(line: Line): number {
    const name = this.string(line.functionName);
    const system = this.string(line.systemName ?? line.functionName);
    const file = this.string(line.fileName ?? "");
    const id = `${name},${system},${file}`;
    let i = this.#functions.get(id);
    if (i === undefined) {
      i = this.#functionTable.length;
      this.#functionTable.push(create(FunctionSchema, {
        nameStrindex: name,
        systemNameStrindex: system,
        filenameStrindex: file,
      }));
      this.#functions.set(id, i);
    }
    return i;
  }

  /** Index of a mapping, 0 when absent. */
  mapping(m: Mapping | undefined): number {
    if (m === undefined) return 0;
    let i = this.#mappingsById.get(m);
    if (i !== undefined) return i;
    const attrs: number[] = [];
    if (m.buildIds.gnu) {
      attrs.push(this.attribute(BUILD_ID_GNU, m.buildIds.gnu));
    }
    if (m.buildIds.go) attrs.push(this.attribute(BUILD_ID_GO, m.buildIds.go));
    if (m.buildIds.htlhash) {
      attrs.push(this.attribute(BUILD_ID_HTLHASH, m.buildIds.htlhash));
    }
    const file = this.string(m.path);
    const id = `${m.start},${m.limit},${m.fileOffset},${file},${attrs}`;
    i = this.#mappings.get(id);
    if (i === undefined) {
      i = this.#mappingTable.length;
      this.#mappingTable.push(create(MappingSchema, {
        memoryStart: m.start,
        memoryLimit: m.limit,
        fileOffset: m.fileOffset,
        filenameStrindex: file,
        attributeIndices: attrs,
      }));
      this.#mappings.set(id, i);
    }
    this.#mappingsById.set(m, i);
    return i;
  }

  /** Index of a location (with its mapping, functions and frame type). */
  location(loc: Location): number {
    let i = this.#locationsById.get(loc);
    if (i !== undefined) return i;
    const mapping = this.mapping(loc.mapping);
    const isError = loc.kind === "error";
    const type = this.attribute(
      PROFILE_FRAME_TYPE,
      isError ? FRAME_TYPE_ABORT : loc.kind,
    );
    const lines: OtlpLine[] = [];
    let id = `${mapping},${loc.address},${type}`;
    for (const line of loc.lines) {
      let fn: number;
      if (isError) {
        const reason = UNWIND_REASON.exec(line.functionName)?.[1] ??
          line.functionName;
        fn = this.function({ functionName: reason });
      } else {
        fn = this.function(line);
      }
      const lineNo = line.line ?? 0;
      id += `;${fn}:${lineNo}`;
      lines.push(create(LineSchema, {
        functionIndex: fn,
        line: BigInt(lineNo),
      }));
    }
    i = this.#locations.get(id);
    if (i === undefined) {
      i = this.#locationTable.length;
      this.#locationTable.push(create(LocationSchema, {
        mappingIndex: mapping,
        address: loc.address,
        lines,
        attributeIndices: [type],
      }));
      this.#locations.set(id, i);
    }
    this.#locationsById.set(loc, i);
    return i;
  }

  /** Index of a stack (leaf first). */
  stack(frames: readonly Location[]): number {
    const indices = new Array<number>(frames.length);
    for (let k = 0; k < frames.length; k++) {
      indices[k] = this.location(frames[k]!);
    }
    const id = indices.join(",");
    let i = this.#stacks.get(id);
    if (i === undefined) {
      i = this.#stackTable.length;
      this.#stackTable.push(create(StackSchema, { locationIndices: indices }));
      this.#stacks.set(id, i);
    }
    return i;
  }

  /** The finished dictionary. */
  build(): ProfilesDictionary {
    return create(ProfilesDictionarySchema, {
      mappingTable: this.#mappingTable,
      locationTable: this.#locationTable,
      functionTable: this.#functionTable,
      linkTable: [create(LinkSchema)],
      stringTable: this.#stringTable,
      attributeTable: this.#attributeTable,
      stackTable: this.#stackTable,
    });
  }
}
