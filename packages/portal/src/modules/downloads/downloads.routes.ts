import {
  ArtifactParams,
  ArtifactQuery,
  CheckUpdateRequest,
  CheckUpdateResponse,
  DownloadTokenRequest,
  DownloadTokenResponse,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { downloadResponses } from '../../http/responses';

/** Public download API: `/api/v1/download/*` (license key + hardware id; artifact by token). */
export function downloadsRoutes(app: App, s: PortalServices): void {
  const downloads = s.downloads;
  const onRequest = s.hooks.publicRateLimit;
  const tags = ['download'];

  app.post(
    '/api/v1/download/check-update',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Newest eligible release for this panel, as a signed answer bound to the nonce',
        body: CheckUpdateRequest,
        response: downloadResponses({ 200: CheckUpdateResponse }),
      },
    },
    async (req) => downloads.checkUpdate(req.body, req.ip),
  );
  app.post(
    '/api/v1/download/token',
    {
      onRequest,
      schema: {
        tags,
        summary: 'A short-lived token for one release artifact',
        body: DownloadTokenRequest,
        response: downloadResponses(
          { 200: DownloadTokenResponse },
          {
            403: 'LICENSE_EXPIRED: the version was published after the license term ended',
            404: 'NOT_FOUND: no such published version',
          },
        ),
      },
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
        response: downloadResponses(
          {
            200: { type: 'string', format: 'binary', description: 'The artifact (application/octet-stream)' },
            206: { type: 'string', format: 'binary', description: 'The requested byte range' },
          } as never,
          {
            401: 'DOWNLOAD_TOKEN_INVALID or DOWNLOAD_TOKEN_EXPIRED',
            404: 'NOT_FOUND: no such published version',
            416: 'RANGE_NOT_SATISFIABLE (Content-Range: bytes */size)',
            503: 'SERVICE_UNAVAILABLE: the artifact file is missing on the portal',
          },
        ),
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
