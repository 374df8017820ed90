/**
 * Every answer shape the portal console reads, derived from the schemas the portal validates and documents
 * with (@wispanel/contract). Types only: nothing of the contract package reaches the bundle.
 */
import type {
  AdminKeyRecord,
  AdminSessionAnswer,
  FleetView,
  PortalActivation,
  PortalEventRecord,
  PortalLicense,
  PortalLicenseDetail,
  PortalTier,
  ReleaseHealth,
  ReleaseView,
  RolloutTimeline,
  RolloutView,
  WebhookDeliveryRecord,
} from '@wispanel/contract';

export type {
  AdminKeyRecord,
  AdminSessionAnswer,
  FleetView,
  PortalActivation,
  PortalEventRecord,
  PortalLicense,
  PortalLicenseDetail,
  PortalTier,
  ReleaseHealth,
  ReleaseView,
  RolloutTimeline,
  RolloutView,
  WebhookDeliveryRecord,
};

export interface Pagination {
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}
