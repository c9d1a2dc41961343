/** Evaluation against a feed: the engine of `shared/evaluation` with the feed's flags and segments as its store. */
import { evaluate, type Evaluation, type EvaluationContext, type EvaluationStore, type SdkFlag, type SdkSegment } from "@vexil/shared/evaluation/evaluate";
import type { Feed } from "./feeds.ts";

const stores = new WeakMap<Feed, EvaluationStore>();

/** The feed as the engine's store (reads the feed's current maps, so it stays valid as the feed changes). */
export function storeOf(feed: Feed): EvaluationStore {
  let store = stores.get(feed);
  if (!store) {
    store = { flag: (key) => feed.flags.get(key) as SdkFlag | undefined, segment: (key) => feed.segments.get(key) as SdkSegment | undefined };
    stores.set(feed, store);
  }
  return store;
}

export function evaluateIn(feed: Feed, key: string, context: EvaluationContext): Evaluation {
  return evaluate(feed.flags.get(key) as SdkFlag | undefined, context, storeOf(feed));
}
