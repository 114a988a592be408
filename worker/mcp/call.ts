/**
 * One request as its handler sees it (CallContext). A class rather than an
 * object literal: one is made per call, and a literal with a getter and three
 * closures was the largest single cost the dispatcher itself added to a warm
 * WebSocket call in the profile. Its parts (the AbortSignal, the client's
 * capabilities) are made only when something reaches for them.
 */
import { type JsonRpcRequest, META_CLIENT_CAPABILITIES } from "../../shared/protocol";
import type { RelayCall } from "../federation/relay-call";
import type { Trace } from "../observability/trace";
import type { Channel } from "../transports/channel";
import type { CallAbort } from "./call-abort";
import type { CallContext, Era, SessionContext } from "./context";
import type { Deadline } from "./deadline";
import { progressTokenOf } from "./era";
import type { RoundTrip } from "./round-trip";

/** How a call asks the client a question (the dispatcher's, shared by all its calls). */
export type AskClient = (
  call: CallContext,
  ...question: Parameters<RelayCall["askClient"]>
) => ReturnType<RelayCall["askClient"]>;

export class Call implements CallContext {
  readonly progressToken: CallContext["progressToken"];
  inputResponses: RoundTrip["inputResponses"] = undefined;
  requestState: unknown = undefined;

  constructor(
    readonly session: SessionContext,
    readonly request: JsonRpcRequest,
    readonly era: Era,
    readonly channel: Channel,
    readonly trace: Trace,
    readonly deadline: Deadline,
    private readonly abort: CallAbort,
    private readonly ask: AskClient,
  ) {
    this.progressToken = progressTokenOf(request);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The answers and verified state of the previous round (round-trip.ts). */
  roundTrip(read: RoundTrip): this {
    this.inputResponses = read.inputResponses;
    this.requestState = read.requestState;
    return this;
  }

  clientCapabilities(): Record<string, unknown> {
    return this.era.kind === "modern"
      ? (this.era.envelope[META_CLIENT_CAPABILITIES] ?? {})
      : (this.session.record().clientCapabilities ?? {});
  }

  askClient(...question: Parameters<RelayCall["askClient"]>): ReturnType<RelayCall["askClient"]> {
    return this.ask(this, ...question);
  }
}
