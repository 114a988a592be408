/**
 * Single-use WebSocket tickets (POST /tickets -> ?ticket=). Each ticket is its
 * own tiny Durable Object: the ticket string is the object's id (minted by
 * newUniqueId, so unguessable), the object holds the principal and expiry, and
 * `redeem` deletes it in the same turn it reads it, so a ticket works once even
 * under concurrent redemptions. An alarm deletes an unredeemed ticket at expiry.
 *
 * This object's storage is one key, "ticket", and nothing else.
 */
import { DurableObject } from "cloudflare:workers";

interface Ticket {
  principal: string;
  expiresAt: number;
}

export class TicketObject extends DurableObject<Env> {
  async issue(principal: string, expiresAt: number): Promise<void> {
    await this.ctx.storage.put<Ticket>("ticket", { principal, expiresAt });
    await this.ctx.storage.setAlarm(expiresAt);
  }

  /** The ticket's principal if it is live; the ticket is gone afterwards either way. */
  async redeem(): Promise<string | null> {
    const ticket = await this.ctx.storage.get<Ticket>("ticket");
    if (!ticket) return null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return ticket.expiresAt > Date.now() ? ticket.principal : null;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
