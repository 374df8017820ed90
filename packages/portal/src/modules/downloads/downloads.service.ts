import type { ReadStream } from 'node:fs';
import {
  type CheckUpdateRequest,
  type CheckUpdateResponse,
  channelIncludes,
  type DownloadTokenResponse,
  type HeldBackRelease,
  RELEASE_CHANNELS,
  type SignedDocument,
  type SigningKey,
  signDocument,
  type UpdateCheckPayload,
} from '@wispanel/contract';
import { AppError, notFound } from '@wispanel/kit';
import type { ArtifactStore } from '../releases/artifact-store';
import {
  changelogMarkdown,
  compareVersions,
  decideUpdate,
  isOffered,
  isReleaseVersion,
  type ReleaseFacts,
  summaryOf,
} from '../releases/release-eligibility';
import type { ReleaseRow, ReleasesRepository } from '../releases/releases.repository';
import { decideRange } from './byte-range';
import { checkDownloadToken, createDownloadToken, downloadTokenSecret } from './download-token';

/** A license allowed to use the download API: known, active (or lapsed), activated on this hardware id. */
export interface DownloadLicense {
  licenseId: string;
  /** End of the license term (null = perpetual). After it, only releases published before it are offered. */
  expiresAt: string | null;
}

/** One audit record; shaped like the portal event log's input so it can be passed straight through. */
export interface DownloadEvent {
  action: 'download.check_update' | 'download.token' | 'download.artifact';
  licenseId: string | null;
  hardwareId: string | null;
  panelVersion?: string | null;
  resultCode: string;
  data?: Record<string, unknown>;
}

/** What the rollouts module adds to the download API (optional: without it every release goes to everyone). */
export interface RolloutHooks {
  /** Of the candidate releases (newer, published, in the channel set), which this server may be offered now. */
  gate(
    candidates: Array<{ row: ReleaseRow; lapsed: boolean }>,
    licenseId: string,
    hardwareId: string,
  ): Promise<{ allowed: Set<string>; heldBack: HeldBackRelease[] }>;
  /** After each check-update: the server was seen on `current`, and offered `latest` (= current when none). */
  offered(
    latest: string,
    hardwareId: string,
    licenseId: string,
    channel: string,
    current: string,
  ): Promise<void>;
  /** A download token was issued: the server started installing `version`. */
  started(version: string, hardwareId: string, licenseId: string): Promise<void>;
}

export interface DownloadServiceDeps {
  rollouts?: RolloutHooks;
  releases: ReleasesRepository;
  store: ArtifactStore;
  /**
   * Null when the key is unknown, suspended or revoked, or the hardware id is not activated on it: all of
   * these answer 401 `Invalid license` (no hint which).
   */
  authorize: (key: string, hardwareId: string) => Promise<DownloadLicense | null>;
  /**
   * Whether the license a download token was issued to still allows downloads on that hardware id (not revoked,
   * suspended or deactivated since). Checked on every artifact request, so a token dies with its license.
   */
  stillAuthorized?: (licenseId: string, hardwareId: string) => Promise<boolean>;
  signingKey: () => SigningKey;
  recordEvent?: (event: DownloadEvent, ip: string | null) => Promise<void> | void;
  now?: () => Date;
  /** Lifetime of a signed check-update answer (default 600 s). */
  checkAnswerTtlSeconds?: number;
  /** Lifetime of a download token (default 900 s). */
  tokenTtlSeconds?: number;
}

export const INVALID_LICENSE = 'Invalid license';
const invalidLicense = () => new AppError('UNAUTHORIZED', INVALID_LICENSE);

function factsOf(row: ReleaseRow): ReleaseFacts & { row: ReleaseRow } {
  return {
    version: row.version,
    channel: row.channel,
    status: row.status,
    changelog: row.changelog,
    critical: Boolean(row.critical),
    min_version: row.min_version,
    published_at: row.published_at,
    row,
  };
}

export interface ArtifactResponse {
  status: 200 | 206;
  headers: Record<string, string>;
  body: ReadStream;
}

export class DownloadsService {
  private readonly now: () => Date;
  private readonly secrets = new Map<string, Buffer>();

  constructor(private readonly deps: DownloadServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private secretFor(key: SigningKey): Buffer {
    let s = this.secrets.get(key.kid);
    if (!s) {
      s = downloadTokenSecret(key);
      this.secrets.set(key.kid, s);
    }
    return s;
  }

  private async event(event: DownloadEvent, ip: string | null): Promise<void> {
    await this.deps.recordEvent?.(event, ip);
  }

  /** Cutoff for a lapsed license: its term's end once that is in the past, else none. */
  private cutoff(license: DownloadLicense): string | null {
    if (license.expiresAt === null) return null;
    return Date.parse(license.expiresAt) <= this.now().getTime() ? license.expiresAt : null;
  }

  private async authorize(
    key: string,
    hardwareId: string,
    action: DownloadEvent['action'],
    ip: string | null,
    data: Record<string, unknown>,
  ): Promise<DownloadLicense> {
    const license = await this.deps.authorize(key, hardwareId);
    if (!license) {
      await this.event({ action, licenseId: null, hardwareId, resultCode: 'INVALID_LICENSE', data }, ip);
      throw invalidLicense();
    }
    return license;
  }

  async checkUpdate(input: CheckUpdateRequest, ip: string | null = null): Promise<CheckUpdateResponse> {
    const license = await this.authorize(input.key, input.hardware_id, 'download.check_update', ip, {
      channel: input.channel,
    });
    const channels = RELEASE_CHANNELS.filter((c) => channelIncludes(input.channel, c));
    let rows = await this.deps.releases.listForUpdateCheck(input.current_version, channels);
    const cutoff = this.cutoff(license);
    let heldBack: HeldBackRelease[] | undefined;
    if (this.deps.rollouts) {
      // Newer releases this server could get but for its rollout stage (or a lapsed term): gated, and said why.
      const candidates = rows
        .filter(
          (r) =>
            isOffered(factsOf(r), input.channel, null) &&
            isReleaseVersion(r.version) &&
            compareVersions(r.version, input.current_version) > 0,
        )
        .map((row) => ({ row, lapsed: !isOffered(factsOf(row), input.channel, cutoff) }));
      if (candidates.length > 0) {
        const gate = await this.deps.rollouts.gate(candidates, license.licenseId, input.hardware_id);
        const gated = new Set(
          candidates.filter((c) => !gate.allowed.has(c.row.version)).map((c) => c.row.version),
        );
        rows = rows.filter((r) => !gated.has(r.version));
        heldBack = gate.heldBack.sort((a, b) => compareVersions(b.version, a.version));
      }
    }
    const decision = decideUpdate(rows.map(factsOf), {
      currentVersion: input.current_version,
      channel: input.channel,
      publishedBefore: cutoff,
    });
    const now = this.now();
    const ttl = this.deps.checkAnswerTtlSeconds ?? 600;
    const latest = decision.latest;
    const payload: UpdateCheckPayload = {
      v: 1,
      nonce: input.nonce,
      hardware_id: input.hardware_id,
      server_time: now.toISOString(),
      expires_at: new Date(now.getTime() + ttl * 1000).toISOString(),
      current_version: input.current_version,
      channel: input.channel,
      update_available: latest !== null,
      latest_version: latest ? latest.version : input.current_version,
      release: latest ? (JSON.parse(latest.row.signed_release!) as SignedDocument) : null,
      changelog: changelogMarkdown(decision),
      releases: decision.between.map(summaryOf),
      critical: decision.critical,
      ...(heldBack && heldBack.length > 0 ? { held_back: heldBack } : {}),
    };
    const signed = signDocument('update-check', payload, this.deps.signingKey());
    await this.deps.rollouts?.offered(
      payload.latest_version,
      input.hardware_id,
      license.licenseId,
      input.channel,
      input.current_version,
    );
    await this.event(
      {
        action: 'download.check_update',
        licenseId: license.licenseId,
        hardwareId: input.hardware_id,
        panelVersion: input.current_version,
        resultCode: 'OK',
        data: {
          channel: input.channel,
          latest_version: payload.latest_version,
          update_available: payload.update_available,
        },
      },
      ip,
    );
    return {
      update_available: payload.update_available,
      current_version: payload.current_version,
      latest_version: payload.latest_version,
      changelog: payload.changelog,
      critical: payload.critical,
      ...(payload.held_back ? { held_back: payload.held_back } : {}),
      signed,
    };
  }

  /**
   * A token for one artifact. Any published, non-yanked release can be fetched (the panel may install a named
   * version); a lapsed license only releases published before its term ended.
   */
  async issueToken(
    input: { key: string; hardware_id: string; version: string },
    ip: string | null = null,
  ): Promise<DownloadTokenResponse> {
    const license = await this.authorize(input.key, input.hardware_id, 'download.token', ip, {
      version: input.version,
    });
    const refuse = async (err: AppError) => {
      await this.event(
        {
          action: 'download.token',
          licenseId: license.licenseId,
          hardwareId: input.hardware_id,
          resultCode: err.code,
          data: { version: input.version },
        },
        ip,
      );
      return err;
    };
    const row = isReleaseVersion(input.version)
      ? await this.deps.releases.findByVersion(input.version)
      : undefined;
    if (row?.status !== 'published' || !row.signed_release || row.size === null || !row.sha256) {
      throw await refuse(notFound('Version'));
    }
    const cutoff = this.cutoff(license);
    if (!isOffered(factsOf(row), row.channel, cutoff)) {
      throw await refuse(
        new AppError(
          'LICENSE_EXPIRED',
          `The license term ended on ${cutoff}; version ${row.version} was published after it`,
        ),
      );
    }
    const key = this.deps.signingKey();
    const exp = Math.floor(this.now().getTime() / 1000) + (this.deps.tokenTtlSeconds ?? 900);
    const token = createDownloadToken(this.secretFor(key), {
      version: row.version,
      license_id: license.licenseId,
      hardware_id: input.hardware_id,
      exp,
    });
    await this.deps.rollouts?.started(row.version, input.hardware_id, license.licenseId);
    await this.event(
      {
        action: 'download.token',
        licenseId: license.licenseId,
        hardwareId: input.hardware_id,
        resultCode: 'OK',
        data: { version: row.version },
      },
      ip,
    );
    return {
      token,
      url: `/api/v1/download/artifact/${encodeURIComponent(row.version)}?token=${token}`,
      expires_at: new Date(exp * 1000).toISOString(),
      size: Number(row.size),
      sha256: row.sha256,
      release: JSON.parse(row.signed_release) as SignedDocument,
    };
  }

  /** Opens the artifact for a token, honouring `Range` (one range; 206/416) and `If-Range` (the ETag). */
  async openArtifact(
    version: string,
    token: string,
    range: { header?: string | undefined; ifRange?: string | undefined },
    ip: string | null = null,
  ): Promise<ArtifactResponse> {
    const check = checkDownloadToken(
      this.secretFor(this.deps.signingKey()),
      token,
      version,
      this.now().getTime(),
    );
    if (!check.ok) {
      await this.event(
        {
          action: 'download.artifact',
          licenseId: null,
          hardwareId: null,
          resultCode: `TOKEN_${check.reason}`,
          data: { version },
        },
        ip,
      );
      throw check.reason === 'EXPIRED'
        ? new AppError('DOWNLOAD_TOKEN_EXPIRED', 'Download token expired: request a new one')
        : new AppError('DOWNLOAD_TOKEN_INVALID', 'Invalid download token');
    }
    const { claims } = check;
    if (
      this.deps.stillAuthorized &&
      !(await this.deps.stillAuthorized(claims.license_id, claims.hardware_id))
    ) {
      await this.event(
        {
          action: 'download.artifact',
          licenseId: claims.license_id,
          hardwareId: claims.hardware_id,
          resultCode: 'INVALID_LICENSE',
          data: { version },
        },
        ip,
      );
      throw invalidLicense();
    }
    const row = await this.deps.releases.findByVersion(version);
    if (row?.status !== 'published' || !row.artifact_path || row.size === null || !row.sha256) {
      await this.event(
        {
          action: 'download.artifact',
          licenseId: claims.license_id,
          hardwareId: claims.hardware_id,
          resultCode: 'NOT_FOUND',
          data: { version },
        },
        ip,
      );
      throw notFound('Version');
    }
    const size = Number(row.size);
    const onDisk = await this.deps.store.size(row.artifact_path);
    if (onDisk !== size) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The artifact of this version is not available right now');
    }
    const etag = `"${row.sha256}"`;
    const decision = decideRange(range.header, size, { ifRange: range.ifRange, etag });
    const base: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag,
      'content-disposition': `attachment; filename="${row.filename}"`,
      'cache-control': 'private, no-store',
    };
    const record = (resultCode: string, data: Record<string, unknown>) =>
      this.event(
        {
          action: 'download.artifact',
          licenseId: claims.license_id,
          hardwareId: claims.hardware_id,
          resultCode,
          data: { version, ...data },
        },
        ip,
      );
    if (decision.kind === 'unsatisfiable') {
      // The client's header, cut short: it goes into the answer and the event log.
      const asked = (range.header ?? '').slice(0, 64);
      await record('RANGE_NOT_SATISFIABLE', { range: asked });
      throw new AppError(
        'RANGE_NOT_SATISFIABLE',
        `Range ${asked}${(range.header ?? '').length > 64 ? '…' : ''} cannot be served from ${size} bytes`,
        {
          headers: { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' },
        },
      );
    }
    if (decision.kind === 'full') {
      await record('OK', { bytes: size });
      return {
        status: 200,
        headers: { ...base, 'content-length': String(size) },
        body: this.deps.store.read(row.artifact_path),
      };
    }
    const { start, end } = decision.range;
    await record('OK', { start, end, bytes: end - start + 1 });
    return {
      status: 206,
      headers: {
        ...base,
        'content-length': String(end - start + 1),
        'content-range': `bytes ${start}-${end}/${size}`,
      },
      body: this.deps.store.read(row.artifact_path, decision.range),
    };
  }
}
