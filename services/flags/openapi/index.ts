/** The flags service's named schemas: the component schemas its routes' documentation names. */
import { auditLogComponents } from "./audit-log.ts";
import { compatComponents } from "./compat.ts";
import { deliveryComponents } from "./deliveries.ts";
import { sdkConnectionComponents } from "./sdk-connections.ts";
import { flagStatusComponents } from "./flag-statuses.ts";
import { flagComponents } from "./flags.ts";
import { projectComponents } from "./projects.ts";
import { segmentComponents } from "./segments.ts";
import { scheduledChangeComponents } from "./scheduled-changes.ts";
import { expiringTargetComponents } from "./expiring-targets.ts";
import { approvalComponents } from "./approvals.ts";
import { flagsAsCodeComponents } from "./flags-as-code.ts";

export const flagsComponents = {
  ...projectComponents,
  ...flagComponents,
  ...flagStatusComponents,
  ...deliveryComponents,
  ...sdkConnectionComponents,
  ...segmentComponents,
  ...scheduledChangeComponents,
  ...expiringTargetComponents,
  ...approvalComponents,
  ...auditLogComponents,
  ...compatComponents,
  ...flagsAsCodeComponents,
};
