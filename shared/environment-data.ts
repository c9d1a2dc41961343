/**
 * Streaming → flags (version 1): everything SDKs of one environment receive, with the sequence
 * number of the last change event it includes. Events numbered up to `seq` are in it; later ones
 * may be too, and applying them again is harmless (an item only ever moves to a higher version).
 */
export interface EnvironmentDataRequest {
  v: 1;
  environmentId: string;
}

/** A flag or segment in the SDK format. */
export type SdkItem = Record<string, unknown> & { key: string; version: number };

export interface EnvironmentData {
  v: 1;
  environmentId: string;
  projectKey: string;
  environmentKey: string;
  seq: number;
  flags: Record<string, SdkItem>;
  segments: Record<string, SdkItem>;
}
