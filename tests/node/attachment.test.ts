/**
 * worker/attachment.ts: the socket attachment codec. decodeAttachment returns
 * null (never throws) for anything foreign, corrupt, from another session or
 * from another version, and round-trips what encodeAttachment produced.
 */
import { describe, expect, it } from "vitest";
import {
  ATTACHMENT_VERSION,
  type Attachment,
  decodeAttachment,
  encodeAttachment,
} from "../../worker/storage/attachment";

const SID = "a".repeat(64);

const VALID: Attachment = {
  v: ATTACHMENT_VERSION,
  sid: SID,
  gen: 3,
  phase: "ready",
  pv: "2025-11-25",
  ll: "warning",
};

describe("decodeAttachment", () => {
  it("round-trips an encoded attachment through structured clone", () => {
    const stored = structuredClone(encodeAttachment(VALID));
    expect(decodeAttachment(stored, SID)).toEqual(VALID);
  });

  it("round-trips an attachment from before initialize (pv null, phase new)", () => {
    const early: Attachment = { ...VALID, gen: 0, phase: "new", pv: null, ll: "info" };
    expect(decodeAttachment(encodeAttachment(early), SID)).toEqual(early);
  });

  it("returns a copy: encoding does not alias the caller's object", () => {
    const input = { ...VALID };
    const encoded = encodeAttachment(input);
    expect(encoded).not.toBe(input);
    expect(encoded).toEqual(input);
  });

  it.each([
    ["undefined (no attachment yet)", undefined],
    ["null", null],
    ["a string", "garbage"],
    ["a number", 42],
    ["an array", [VALID]],
    ["a foreign object", { garbage: true }],
  ])("returns null for %s", (_label, raw) => {
    expect(decodeAttachment(raw, SID)).toBeNull();
  });

  it.each([
    ["a missing field", (({ ll: _ll, ...rest }) => rest)(VALID)],
    ["an unknown phase", { ...VALID, phase: "sleeping" }],
    ["an unknown log level", { ...VALID, ll: "verbose" }],
    ["a negative generation", { ...VALID, gen: -1 }],
    ["a fractional generation", { ...VALID, gen: 1.5 }],
    ["a numeric session id", { ...VALID, sid: 7 }],
    ["an oversized session id", { ...VALID, sid: "a".repeat(129) }],
    ["an oversized version", { ...VALID, pv: "x".repeat(33) }],
  ])("returns null for corrupt data: %s", (_label, raw) => {
    expect(decodeAttachment(raw, SID)).toBeNull();
  });

  it("returns null for an attachment of another session", () => {
    expect(decodeAttachment(VALID, "b".repeat(64))).toBeNull();
  });

  it.each([0, ATTACHMENT_VERSION + 1, "1"])("returns null for attachment version %j", (v) => {
    expect(decodeAttachment({ ...VALID, v }, SID)).toBeNull();
  });
});
