import type { App } from '@wispanel/kit';
import { AppError } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { PortalServices } from '../../context';
import { ArtifactStore } from './artifact-store';
import { ReleasesRepository, type ReleaseTables } from './releases.repository';
import { Channel, ReleaseStatusSchema, Semver } from './releases.schemas';
import { MAX_CHANGELOG_CHARS, ReleasesService } from './releases.service';

/** The releases service over the portal's database, artifact directory, signing key and event log. */
export function createReleasesService(s: PortalServices): ReleasesService {
  return new ReleasesService({
    repository: new ReleasesRepository(s.db as unknown as Kysely<ReleaseTables>),
    store: new ArtifactStore(s.config.artifactDir, s.config.maxArtifactBytes),
    signingKey: () => s.signing.current(),
    now: s.clock,
    recordEvent: (action, actor, data) => s.events.append({ action, actor, resultCode: 'OK', data }),
  });
}

const Changelog = Type.String({ maxLength: MAX_CHANGELOG_CHARS, description: 'Markdown' });
const Notes = Type.String({ maxLength: 10_000, description: 'Internal notes (never sent to panels)' });
const MinVersion = Type.Union([Semver('Lowest version this release may be installed over'), Type.Null()]);

export const ReleaseCreateBody = Type.Object(
  {
    version: Semver('Semantic version, unique'),
    channel: Type.Optional(Channel),
    changelog: Type.Optional(Changelog),
    critical: Type.Optional(Type.Boolean()),
    min_version: Type.Optional(MinVersion),
    notes: Type.Optional(Notes),
  },
  { additionalProperties: false },
);

export const ReleaseUpdateBody = Type.Object(
  {
    channel: Type.Optional(Channel),
    changelog: Type.Optional(Changelog),
    critical: Type.Optional(Type.Boolean()),
    min_version: Type.Optional(MinVersion),
    notes: Type.Optional(Notes),
  },
  { additionalProperties: false },
);

const VersionParam = Type.Object({ version: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object(
  { channel: Type.Optional(Channel), status: Type.Optional(ReleaseStatusSchema) },
  { additionalProperties: false },
);
const UploadQuery = Type.Object(
  {
    filename: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        'x-format-message': 'may hold only letters, digits, dot, dash and underscore.',
      }),
    ),
  },
  { additionalProperties: false },
);
const YankBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

/** Admin API for releases: `/api/v1/admin/versions` (X-Admin-Key). */
export function releasesRoutes(app: App, s: PortalServices): void {
  const releases = createReleasesService(s);
  const onRequest = s.hooks.admin;
  const tags = ['admin: versions'];
  const base = '/api/v1/admin/versions';

  app.post(
    base,
    { onRequest, schema: { tags, summary: 'Create a release (draft)', body: ReleaseCreateBody } },
    async (req, reply) => {
      const release = await releases.create(req.adminActor!, req.body);
      return reply.code(201).send({ success: true, release });
    },
  );
  app.get(
    base,
    { onRequest, schema: { tags, summary: 'List releases, newest version first', querystring: ListQuery } },
    async (req) => ({ success: true, releases: await releases.list(req.query) }),
  );
  app.get(
    `${base}/:version`,
    { onRequest, schema: { tags, summary: 'Get a release', params: VersionParam } },
    async (req) => ({ success: true, release: await releases.get(req.params.version) }),
  );
  app.patch(
    `${base}/:version`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Update a release (channel, critical, min_version only while draft)',
        params: VersionParam,
        body: ReleaseUpdateBody,
      },
    },
    async (req) => ({
      success: true,
      release: await releases.update(req.adminActor!, req.params.version, req.body),
    }),
  );
  app.delete(
    `${base}/:version`,
    { onRequest, schema: { tags, summary: 'Delete a draft release', params: VersionParam } },
    async (req) => {
      await releases.remove(req.adminActor!, req.params.version);
      return { success: true, message: `Version ${req.params.version} deleted` };
    },
  );
  app.post(
    `${base}/:version/publish`,
    { onRequest, schema: { tags, summary: 'Publish a release (needs its artifact)', params: VersionParam } },
    async (req) => ({ success: true, release: await releases.publish(req.adminActor!, req.params.version) }),
  );
  app.post(
    `${base}/:version/yank`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Yank a release: never offered or served again',
        params: VersionParam,
        body: YankBody,
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
        onRequest,
        schema: {
          tags,
          summary:
            'Upload the artifact (application/octet-stream, streamed); records size and SHA-256, signs',
          description:
            'Optional header `X-Artifact-Sha256` (hex): the upload is refused when the received bytes differ. ' +
            'Replaces an earlier upload while the release is a draft.',
          params: VersionParam,
          querystring: UploadQuery,
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
