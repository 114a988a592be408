/**
 * A session's `session` row (one per session object, id = 1) as SQLite holds
 * it and as the code reads it, and what a new session starts with.
 */
import { PHASES, type Phase } from "../../shared/lifecycle";
import {
  type ClientCapabilities,
  type Implementation,
  LOG_LEVELS,
  type LogLevel,
} from "../../shared/protocol";
import { parseJsonObject } from "./stored-json";

export interface SessionRecord {
  sessionId: string;
  createdAt: number;
  phase: Phase;
  protocolVersion: string | null;
  clientInfo: Implementation | null;
  clientCapabilities: ClientCapabilities | null;
  logLevel: LogLevel;
  wakes: number;
  attachGen: number;
  lastActiveAt: number;
  /** Who created the session; only they may reach it (another principal gets 404). */
  principal: string;
}

export interface SessionRow extends Record<string, SqlStorageValue> {
  session_id: string;
  created_at: number;
  phase: string;
  protocol_version: string | null;
  client_info: string | null;
  client_capabilities: string | null;
  log_level: string;
  wakes: number;
  attach_gen: number;
  last_active_at: number;
  principal: string;
}

export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** A new session's record: what `create` inserts, held in memory by `createSoon`. */
export function newSessionRecord(
  sessionId: string,
  now: number,
  principal: string,
  attachGen: number,
): SessionRecord {
  return {
    sessionId,
    createdAt: now,
    phase: "new",
    protocolVersion: null,
    clientInfo: null,
    clientCapabilities: null,
    logLevel: DEFAULT_LOG_LEVEL,
    wakes: 1,
    attachGen,
    lastActiveAt: now,
    principal,
  };
}

export function toRecord(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    createdAt: row.created_at,
    phase: (PHASES as readonly string[]).includes(row.phase) ? (row.phase as Phase) : "new",
    protocolVersion: row.protocol_version,
    clientInfo: parseJsonObject<Implementation>(row.client_info),
    clientCapabilities: parseJsonObject<ClientCapabilities>(row.client_capabilities),
    logLevel: (LOG_LEVELS as readonly string[]).includes(row.log_level)
      ? (row.log_level as LogLevel)
      : DEFAULT_LOG_LEVEL,
    wakes: row.wakes,
    attachGen: row.attach_gen,
    lastActiveAt: row.last_active_at,
    principal: row.principal,
  };
}
