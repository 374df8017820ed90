import {
  ArtifactUploadQuery,
  ReleaseAnswer,
  ReleaseCreateBody,
  ReleaseDeletedAnswer,
  ReleaseListAnswer,
  ReleaseListQuery,
  ReleaseUpdateBody,
  ReleaseVersionParam,
  ReleaseYankBody,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import { AppError } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses, documentedBody } from '../../http/responses';

/** How long an artifact upload may take to arrive (the body deadline of this one route). */
export const ARTIFACT_UPLOAD_TIMEOUT_MS = 30 * 60_000;

const NOT_FOUND = { 404: 'NOT_FOUND: no such version' };

/** Admin API for releases: `/api/v1/admin/versions` (X-Admin-Key). */
export function releasesRoutes(app: App, s: PortalServices): void {
  const releases = s.releases;
  const onRequest = s.hooks.admin;
  const tags = ['admin: versions'];
  const base = '/api/v1/admin/versions';

  app.post(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Create a release (draft)',
        body: ReleaseCreateBody,
        response: adminResponses({ 201: ReleaseAnswer }, { 409: 'CONFLICT: the version exists' }),
      },
    },
    async (req, reply) => {
      const release = await releases.create(req.adminActor!, req.body);
      return reply.code(201).send({ success: true, release });
    },
  );
  app.get(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'List releases, newest version first',
        querystring: ReleaseListQuery,
        response: adminResponses({ 200: ReleaseListAnswer }),
      },
    },
    async (req) => ({ success: true, releases: await releases.list(req.query) }),
  );
  app.get(
    `${base}/:version`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Get a release',
        params: ReleaseVersionParam,
        response: adminResponses({ 200: ReleaseAnswer }, NOT_FOUND),
      },
    },
    async (req) => ({ success: true, release: await releases.get(req.params.version) }),
  );
  app.patch(
    `${base}/:version`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Update a release (channel, critical, min_version only while draft)',
        params: ReleaseVersionParam,
        body: ReleaseUpdateBody,
        response: adminResponses({ 200: ReleaseAnswer }, { ...NOT_FOUND, 409: 'CONFLICT: not a draft' }),
      },
    },
    async (req) => ({
      success: true,
      release: await releases.update(req.adminActor!, req.params.version, req.body),
    }),
  );
  app.delete(
    `${base}/:version`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Delete a draft release',
        params: ReleaseVersionParam,
        response: adminResponses(
          { 200: ReleaseDeletedAnswer },
          { ...NOT_FOUND, 409: 'CONFLICT: not a draft' },
        ),
      },
    },
    async (req) => {
      await releases.remove(req.adminActor!, req.params.version);
      return { success: true, message: `Version ${req.params.version} deleted` };
    },
  );
  app.post(
    `${base}/:version/publish`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Publish a release (needs its artifact)',
        params: ReleaseVersionParam,
        ...documentedBody(
          { type: 'object', additionalProperties: false, description: 'No fields: send no body (or {})' },
          { optional: true },
        ),
        response: adminResponses(
          { 200: ReleaseAnswer },
          { ...NOT_FOUND, 409: 'CONFLICT: no artifact, or yanked' },
        ),
      },
    },
    async (req) => ({ success: true, release: await releases.publish(req.adminActor!, req.params.version) }),
  );
  app.post(
    `${base}/:version/yank`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Yank a release: never offered or served again',
        params: ReleaseVersionParam,
        body: ReleaseYankBody,
        response: adminResponses({ 200: ReleaseAnswer }, NOT_FOUND),
      },
    },
    async (req) => ({
      success: true,
      release: await releases.yank(req.adminActor!, req.params.version, req.body?.reason),
    }),
  );

  // The artifact body is streamed to disk: it gets its own content-type parser (no buffering, no body limit
  // beyond the configured artifact cap), scoped to this one route.
  app.register(async (plugin) => {
    const scope = plugin as unknown as App;
    scope.addContentTypeParser('application/octet-stream', (_req, _payload, done) => done(null));
    scope.put(
      `${base}/:version/artifact`,
      {
        // An artifact may take a while to arrive: 30 minutes (docs/portal-api.md) instead of the service's
        // body deadline. The admin key is checked first; a refused upload's connection is closed at once.
        config: { bodyTimeoutMs: ARTIFACT_UPLOAD_TIMEOUT_MS },
        onRequest,
        schema: {
          tags,
          summary:
            'Upload the artifact (application/octet-stream, streamed); records size and SHA-256, signs',
          description:
            'Optional header `X-Artifact-Sha256` (hex): the upload is refused when the received bytes differ. ' +
            'Replaces an earlier upload while the release is a draft.',
          params: ReleaseVersionParam,
          querystring: ArtifactUploadQuery,
          ...documentedBody(
            { type: 'string', format: 'binary', description: 'The release tarball, streamed' },
            { contentType: 'application/octet-stream' },
          ),
          response: adminResponses(
            { 200: ReleaseAnswer },
            {
              ...NOT_FOUND,
              409: 'CONFLICT: not a draft',
              413: 'PAYLOAD_TOO_LARGE: over the artifact cap',
              415: 'UNSUPPORTED_MEDIA_TYPE: not application/octet-stream',
            },
          ),
        },
      },
      async (req) => {
        const type = String(req.headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase();
        if (type !== 'application/octet-stream') {
          throw new AppError(
            'UNSUPPORTED_MEDIA_TYPE',
            'Send the artifact as Content-Type: application/octet-stream',
          );
        }
        const length = req.headers['content-length'];
        const sha = req.headers['x-artifact-sha256'];
        const release = await releases.uploadArtifact(req.adminActor!, req.params.version, req.raw, {
          filename: req.query.filename,
          expectedLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
          expectedSha256: typeof sha === 'string' ? sha.toLowerCase() : undefined,
        });
        return { success: true, release };
      },
    );
  });
}
