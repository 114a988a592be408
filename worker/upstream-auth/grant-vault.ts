/**
 * A principal's upstream grants as stored: sealed (AES-GCM, sealing.ts) with
 * the principal and the upstream as additional data, so a row copied to another
 * principal or upstream does not open. A grant that does not open is no grant.
 */
import * as v from "valibot";
import { logEvent } from "../observability/log";
import type { PrincipalStorage } from "../storage/principal-storage";
import { type Grant, GrantSchema } from "./plan";
import type { Sealer } from "./sealing";

export class GrantVault {
  constructor(
    private readonly storage: PrincipalStorage,
    private readonly sealer: Sealer,
  ) {}

  /** The grant sealed in `sealed` (a row for `name`), or null when it does not open. */
  async open(principal: string, name: string, sealed: string): Promise<Grant | null> {
    const parsed = v.safeParse(
      GrantSchema,
      await this.sealer.unsealJson(sealed, grantContext(principal, name)),
    );
    return parsed.success ? parsed.output : null;
  }

  /**
   * Seals and stores `grant`. With `replacing` (the sealed grant it was made
   * from), only while that grant is still the one stored: false, and nothing
   * written, when it was revoked or replaced meanwhile.
   */
  async save(principal: string, grant: Grant, replacing?: string): Promise<boolean> {
    const name = grant.plan.upstream;
    const sealed = await this.sealer.seal(JSON.stringify(grant), grantContext(principal, name));
    if (replacing !== undefined && this.storage.grant(name)?.sealed !== replacing) return false;
    this.storage.saveGrant(name, sealed, grant.tokens.expiresAt ?? null, Date.now());
    return true;
  }

  /** Deletes the grant for `name`, saying why in the log. */
  drop(name: string, reason: string): void {
    this.storage.deleteGrant(name);
    logEvent("info", "upstream_grant_dropped", { upstream: name, reason });
  }
}

function grantContext(principal: string, upstream: string): string {
  return `grant\u0000${principal}\u0000${upstream}`;
}
