import type { App } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { PortalServices } from '../../context';
import { HardwareId } from '../../http/schemas';
import { ArtifactStore } from '../releases/artifact-store';
import { ReleasesRepository, type ReleaseTables } from '../releases/releases.repository';
import { Channel, Semver } from '../releases/releases.schemas';
import { rolloutsServiceOf } from '../rollouts/rollouts.routes';
import { DownloadsService } from './downloads.service';

/** The download service over the portal's licenses, releases, artifacts, signing key and event log. */
export function createDownloadsService(s: PortalServices): DownloadsService {
  return new DownloadsService({
    releases: new ReleasesRepository(s.db as unknown as Kysely<ReleaseTables>),
    store: new ArtifactStore(s.config.artifactDir, s.config.maxArtifactBytes),
    signingKey: () => s.signing.current(),
    now: s.clock,
    rollouts: rolloutsServiceOf(s),
    authorize: async (key, hardwareId) => {
      const license = await s.licenses.findActivated(key, hardwareId);
      // Suspended and revoked licenses get nothing; an expired (lapsed) one keeps what was published in its term.
      if (!license || (license.status !== 'active' && license.status !== 'expired')) return null;
      return { licenseId: license.id, expiresAt: license.expires_at };
    },
    recordEvent: (e, ip) =>
      s.events.append({
        action: e.action,
        licenseId: e.licenseId,
        actor: { kind: 'panel', id: e.hardwareId ? e.hardwareId.slice(0, 12) : 'unknown', ip },
        hardwareId: e.hardwareId,
        panelVersion: e.panelVersion ?? null,
        resultCode: e.resultCode,
        data: e.data ?? null,
      }),
  });
}

/** Any string: a key of the wrong shape is an invalid license (401), not a validation error. */
const Key = Type.String({ minLength: 1, maxLength: 64, description: 'License key WISP-XXXX-XXXX-XXXX' });
const Nonce = Type.String({
  minLength: 8,
  maxLength: 128,
  pattern: '^[A-Za-z0-9._~+/=-]+$',
  description: 'Client nonce, echoed in the signed answer',
  'x-format-message': 'may only contain letters, digits and . _ ~ + / = -',
});

export const CheckUpdateBody = Type.Object(
  {
    key: Key,
    hardware_id: HardwareId,
    current_version: Semver('The version the panel runs'),
    channel: Channel,
    nonce: Nonce,
  },
  { additionalProperties: false },
);

export const TokenBody = Type.Object(
  { key: Key, hardware_id: HardwareId, version: Semver('The release to download') },
  { additionalProperties: false },
);

const ArtifactParams = Type.Object({ version: Type.String({ maxLength: 64 }) });
const ArtifactQuery = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1024, description: 'From POST /api/v1/download/token' }) },
  { additionalProperties: false },
);

/** Public download API: `/api/v1/download/*` (license key + hardware id; artifact by token). */
export function downloadsRoutes(app: App, s: PortalServices): void {
  const downloads = createDownloadsService(s);
  const onRequest = s.hooks.publicRateLimit;
  const tags = ['download'];

  app.post(
    '/api/v1/download/check-update',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Newest eligible release for this panel, as a signed answer bound to the nonce',
        body: CheckUpdateBody,
      },
    },
    async (req) => downloads.checkUpdate(req.body, req.ip),
  );
  app.post(
    '/api/v1/download/token',
    {
      onRequest,
      schema: { tags, summary: 'A short-lived token for one release artifact', body: TokenBody },
    },
    async (req) => downloads.issueToken(req.body, req.ip),
  );
  app.get(
    '/api/v1/download/artifact/:version',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Stream a release artifact (Range supported: 206, 416)',
        params: ArtifactParams,
        querystring: ArtifactQuery,
      },
    },
    async (req, reply) => {
      const ifRange = req.headers['if-range'];
      const opened = await downloads.openArtifact(
        req.params.version,
        req.query.token,
        { header: req.headers.range, ifRange: typeof ifRange === 'string' ? ifRange : undefined },
        req.ip,
      );
      return reply.code(opened.status).headers(opened.headers).send(opened.body);
    },
  );
}
