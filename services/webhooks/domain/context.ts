/** What the webhooks use cases need, passed in: storage, the secret box, the destination check, a clock. */
import type { Logger } from "@vexil/shared/logger";
import type { WebhookStore } from "../storage/webhook-store.ts";
import type { SecretBox } from "./secret-box.ts";
import type { Destination } from "./destination.ts";

export interface WebhooksContext {
  store: WebhookStore;
  secrets: SecretBox;
  /** Resolves and checks a destination URL (`destination.ts`); throws `DestinationRefused`. */
  checkDestination(url: string): Promise<Destination>;
  logger: Logger;
  now: () => number;
  /** A delivery became due here (a redelivery): the local worker looks at once. */
  nudge(): void;
}
