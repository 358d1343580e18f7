/**
 * What the planner needs from the operator, independent of the answer file's shape (the CLI maps Answers to
 * PlanInput). Secrets are not here: steps name where credentials come from, implementations read them at run time.
 */
import type { ServiceName } from "./catalog.js";

export interface NetworkMove {
  /** Name used in step ids: `net.switch.<name>`. */
  readonly name: string;
  /** CIDR of the network, e.g. "198.51.100.0/24" (the prefix length is used when adding the address). */
  readonly cidr: string;
  /** The address that moves from old to new. */
  readonly address: string;
  readonly oldInterface: string;
  readonly newInterface: string;
}

export interface PlanOptions {
  /** Steps run concurrently up to this many (1..32). */
  readonly concurrency: number;
  /** How writes are frozen on the old controller before the dumps. */
  readonly freeze: "stop-apis" | "haproxy-503";
  /** auto: switch without asking; confirm: a gate step asks first; never: no switch steps (warning). */
  readonly switch: "auto" | "confirm" | "never";
  /** keep: the new databases and AMQP users get the old credentials (computes keep working unchanged); new: fresh ones. */
  readonly credentials: "keep" | "new";
}

export interface PlanInput {
  readonly sourceRelease: string;
  readonly targetRelease: string;
  readonly services: readonly ServiceName[];
  /** The old controller's SSH address (not a moved one): data copies pull from it. */
  readonly oldAddress: string;
  /** The new controller's address until the switch. */
  readonly stagingAddress: string;
  readonly networks: readonly NetworkMove[];
  /** Compute hosts the answers give SSH settings for (by nova host name): steps may run on these only. */
  readonly computeHosts?: readonly string[];
  /** iSCSI target portal today and after the move ("198.18.0.4" or "198.18.0.4:3260"). */
  readonly iscsi?: { readonly oldPortal: string; readonly newPortal: string };
  /** Package source lines for the new controller (apt lines or repo URLs). */
  readonly packageSources: readonly string[];
  /** The package source is unsigned (lab mirror). */
  readonly trustedPackages: boolean;
  /** Where handover keeps its journal; new-credential files go under it on the new controller. */
  readonly stateDir: string;
  readonly options: PlanOptions;
}
