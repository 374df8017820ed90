import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  MAX_CHANGELOG_CHARS,
  type ReleaseChannel,
  type ReleasePayload,
  type SignedDocument,
  type SigningKey,
  signDocument,
} from '@wispanel/contract';
import { AppError, conflict, notFound, validationError } from '@wispanel/kit';
import {
  ARTIFACT_FILENAME,
  ArtifactLengthMismatchError,
  type ArtifactStore,
  ArtifactTooLargeError,
} from './artifact-store';
import { compareVersions, isReleaseVersion, type ReleaseStatus } from './release-eligibility';
import {
  DuplicateVersionError,
  type ReleaseRow,
  type ReleasesRepository,
  versionKey,
} from './releases.repository';

/** What the releases service needs from the rest of the portal, and nothing more. */
export interface ReleaseServiceDeps {
  repository: ReleasesRepository;
  store: ArtifactStore;
  /** The portal's current signing key (rotates; read at each signature). */
  signingKey: () => SigningKey | Promise<SigningKey>;
  now?: () => Date;
  /** Audit trail; optional so the pure service can be tested alone. */
  recordEvent?: (action: string, actor: ReleaseActor, data: Record<string, unknown>) => Promise<void> | void;
}

/** Who asked (an admin key, the operator's CLI); passed through to the event log. */
export interface ReleaseActor {
  kind: 'admin' | 'cli' | 'panel' | 'system';
  id: string;
  ip: string | null;
}

export interface CreateReleaseInput {
  version: string;
  channel?: ReleaseChannel;
  changelog?: string;
  critical?: boolean;
  min_version?: string | null;
  notes?: string;
}

export type UpdateReleaseInput = Partial<Omit<CreateReleaseInput, 'version'>>;

export interface ReleaseView {
  version: string;
  channel: ReleaseChannel;
  status: ReleaseStatus;
  changelog: string;
  notes: string;
  critical: boolean;
  min_version: string | null;
  artifact: { filename: string; size: number; sha256: string; uploaded_at: string } | null;
  /** The signed `release` document panels verify (present once an artifact is uploaded). */
  signed: SignedDocument | null;
  created_at: string;
  updated_at: string;
  published_at: string | null;
  yanked_at: string | null;
  yank_reason: string | null;
}

export type { MAX_CHANGELOG_CHARS };

export function viewOf(row: ReleaseRow): ReleaseView {
  return {
    version: row.version,
    channel: row.channel,
    status: row.status,
    changelog: row.changelog,
    notes: row.notes,
    critical: Boolean(row.critical),
    min_version: row.min_version,
    artifact:
      row.filename && row.size !== null && row.sha256 && row.uploaded_at
        ? { filename: row.filename, size: Number(row.size), sha256: row.sha256, uploaded_at: row.uploaded_at }
        : null,
    signed: row.signed_release ? (JSON.parse(row.signed_release) as SignedDocument) : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    published_at: row.published_at,
    yanked_at: row.yanked_at,
    yank_reason: row.yank_reason,
  };
}

const versionNotFound = () => notFound('Version');

export class ReleasesService {
  private readonly now: () => Date;

  constructor(private readonly deps: ReleaseServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private async event(action: string, actor: ReleaseActor, data: Record<string, unknown>): Promise<void> {
    await this.deps.recordEvent?.(action, actor, data);
  }

  private checkMinVersion(version: string, min: string | null | undefined): void {
    if (min === null || min === undefined) return;
    if (!isReleaseVersion(min)) {
      throw validationError('min_version must be a semantic version such as 1.4.2', {
        min_version: ['The min version field must be a semantic version such as 1.4.2.'],
      });
    }
    if (compareVersions(min, version) > 0) {
      throw validationError('min_version cannot be newer than the release itself', {
        min_version: [`The min version field must not be newer than ${version}.`],
      });
    }
  }

  private checkChangelog(changelog: string | undefined): void {
    if (changelog !== undefined && changelog.length > MAX_CHANGELOG_CHARS) {
      throw validationError(`changelog must be at most ${MAX_CHANGELOG_CHARS} characters`, {
        changelog: [`The changelog field must not be greater than ${MAX_CHANGELOG_CHARS} characters.`],
      });
    }
  }

  private async require(version: string): Promise<ReleaseRow> {
    if (!isReleaseVersion(version)) throw versionNotFound();
    const row = await this.deps.repository.findByVersion(version);
    if (!row) throw versionNotFound();
    return row;
  }

  async create(actor: ReleaseActor, input: CreateReleaseInput): Promise<ReleaseView> {
    if (!isReleaseVersion(input.version)) {
      throw validationError('version must be a semantic version such as 1.4.2', {
        version: ['The version field must be a semantic version such as 1.4.2 or 1.5.0-beta.1.'],
      });
    }
    this.checkMinVersion(input.version, input.min_version);
    this.checkChangelog(input.changelog);
    const at = this.now().toISOString();
    const row: ReleaseRow = {
      id: randomBytes(8).toString('hex'),
      version: input.version,
      version_key: versionKey(input.version),
      channel: input.channel ?? 'stable',
      status: 'draft',
      changelog: input.changelog ?? '',
      notes: input.notes ?? '',
      critical: input.critical ? 1 : 0,
      min_version: input.min_version ?? null,
      filename: null,
      size: null,
      sha256: null,
      artifact_path: null,
      signed_release: null,
      uploaded_at: null,
      created_at: at,
      updated_at: at,
      published_at: null,
      yanked_at: null,
      yank_reason: null,
    };
    try {
      await this.deps.repository.insert(row);
    } catch (err) {
      if (err instanceof DuplicateVersionError) throw conflict(`Version ${input.version} already exists`);
      throw err;
    }
    await this.event('release.created', actor, { version: row.version, channel: row.channel });
    return viewOf(row);
  }

  async list(filter: { channel?: ReleaseChannel; status?: ReleaseStatus } = {}): Promise<ReleaseView[]> {
    const rows = await this.deps.repository.list(filter);
    return rows.sort((a, b) => compareVersions(b.version, a.version)).map(viewOf);
  }

  async get(version: string): Promise<ReleaseView> {
    return viewOf(await this.require(version));
  }

  private async sign(row: ReleaseRow, at: string): Promise<string> {
    if (!row.filename || row.size === null || !row.sha256) throw new Error('release has no artifact');
    const payload: ReleasePayload = {
      v: 1,
      version: row.version,
      channel: row.channel,
      filename: row.filename,
      size: Number(row.size),
      sha256: row.sha256,
      critical: Boolean(row.critical),
      min_version: row.min_version,
      created_at: at,
    };
    return JSON.stringify(signDocument('release', payload, await this.deps.signingKey()));
  }

  /**
   * Changelog and notes can be edited at any time (they are not signed). Channel, critical and min_version
   * are part of the signed metadata and can change only while the release is a draft.
   */
  async update(actor: ReleaseActor, version: string, input: UpdateReleaseInput): Promise<ReleaseView> {
    const row = await this.require(version);
    const signedFieldChange =
      (input.channel !== undefined && input.channel !== row.channel) ||
      (input.critical !== undefined && input.critical !== Boolean(row.critical)) ||
      (input.min_version !== undefined && input.min_version !== row.min_version);
    if (signedFieldChange && row.status !== 'draft') {
      throw conflict(
        `Version ${version} is ${row.status}: channel, critical and min_version can change only while it is a draft`,
      );
    }
    this.checkMinVersion(version, input.min_version);
    this.checkChangelog(input.changelog);
    const at = this.now().toISOString();
    const next: ReleaseRow = {
      ...row,
      channel: input.channel ?? row.channel,
      changelog: input.changelog ?? row.changelog,
      notes: input.notes ?? row.notes,
      critical: input.critical === undefined ? row.critical : input.critical ? 1 : 0,
      min_version: input.min_version === undefined ? row.min_version : input.min_version,
      updated_at: at,
    };
    if (signedFieldChange && next.sha256) next.signed_release = await this.sign(next, at);
    const { id: _id, version: _v, version_key: _k, ...changes } = next;
    if (!(await this.deps.repository.update(version, row.status, changes))) {
      throw conflict(`Version ${version} changed while it was being updated; try again`);
    }
    await this.event('release.updated', actor, { version, fields: Object.keys(input) });
    return viewOf(next);
  }

  /** Streams the artifact to disk (temp file + rename), records size and SHA-256, signs the metadata. */
  async uploadArtifact(
    actor: ReleaseActor,
    version: string,
    source: Readable,
    options: { filename?: string; expectedLength?: number; expectedSha256?: string } = {},
  ): Promise<ReleaseView> {
    const row = await this.require(version);
    if (row.status !== 'draft') {
      source.resume();
      throw conflict(`Version ${version} is ${row.status}: its artifact can no longer change`);
    }
    const filename = options.filename ?? row.filename ?? `wispanel-${version}.tar.gz`;
    if (!ARTIFACT_FILENAME.test(filename)) {
      source.resume();
      throw validationError('filename may hold only letters, digits, dot, dash and underscore', {
        filename: ['The filename field may hold only letters, digits, dot, dash and underscore.'],
      });
    }
    if (options.expectedSha256 !== undefined && !/^[0-9a-f]{64}$/.test(options.expectedSha256)) {
      source.resume();
      throw validationError('sha256 must be 64 lowercase hex characters', {
        sha256: ['The sha256 field must be 64 lowercase hex characters.'],
      });
    }
    let stored: Awaited<ReturnType<ArtifactStore['write']>>;
    try {
      // Checked before the file replaces an earlier upload of this draft: a refused upload stores nothing.
      stored = await this.deps.store.write(version, filename, source, {
        expectedLength: options.expectedLength,
        accept: ({ size, sha256 }) => {
          if (size === 0) {
            throw validationError('The artifact is empty', { artifact: ['The artifact is empty.'] });
          }
          if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256) {
            throw validationError('Artifact SHA-256 does not match the announced digest', {
              sha256: [`The artifact's SHA-256 is ${sha256}, not ${options.expectedSha256}.`],
            });
          }
        },
      });
    } catch (err) {
      if (err instanceof ArtifactTooLargeError) {
        throw new AppError('PAYLOAD_TOO_LARGE', `Artifact is larger than the limit of ${err.maxBytes} bytes`);
      }
      if (err instanceof ArtifactLengthMismatchError) {
        throw validationError(err.message, {
          artifact: [`The artifact is ${err.received} bytes, not ${err.expected}.`],
        });
      }
      throw err;
    }
    const at = this.now().toISOString();
    const next: ReleaseRow = {
      ...row,
      filename,
      size: stored.size,
      sha256: stored.sha256,
      artifact_path: stored.path,
      uploaded_at: at,
      updated_at: at,
    };
    next.signed_release = await this.sign(next, at);
    const { id: _id, version: _v, version_key: _k, ...changes } = next;
    if (!(await this.deps.repository.update(version, 'draft', changes))) {
      throw conflict(`Version ${version} was published or yanked during the upload`);
    }
    if (row.artifact_path && row.artifact_path !== stored.path)
      await this.deps.store.remove(row.artifact_path);
    await this.event('release.artifact_uploaded', actor, {
      version,
      size: stored.size,
      sha256: stored.sha256,
    });
    return viewOf(next);
  }

  /** Publishing needs an artifact. Publishing a published release changes nothing; a yanked one stays yanked. */
  async publish(actor: ReleaseActor, version: string): Promise<ReleaseView> {
    const row = await this.require(version);
    if (row.status === 'published') return viewOf(row);
    if (row.status === 'yanked')
      throw conflict(`Version ${version} was yanked and cannot be published again`);
    if (!row.artifact_path || !row.signed_release) {
      throw conflict(`Version ${version} has no artifact: upload it before publishing`);
    }
    const size = await this.deps.store.size(row.artifact_path);
    if (size !== Number(row.size)) {
      throw conflict(`Version ${version}'s artifact file is missing or changed on disk: upload it again`);
    }
    const at = this.now().toISOString();
    if (
      !(await this.deps.repository.update(version, 'draft', {
        status: 'published',
        published_at: at,
        updated_at: at,
      }))
    ) {
      throw conflict(`Version ${version} changed while it was being published; try again`);
    }
    await this.event('release.published', actor, { version, channel: row.channel });
    return viewOf({ ...row, status: 'published', published_at: at, updated_at: at });
  }

  /** A yanked release is never offered, never tokenised, never served again. Yanking twice is a no-op. */
  async yank(actor: ReleaseActor, version: string, reason?: string): Promise<ReleaseView> {
    const row = await this.require(version);
    if (row.status === 'yanked') return viewOf(row);
    const at = this.now().toISOString();
    const changes = { status: 'yanked' as const, yanked_at: at, yank_reason: reason ?? null, updated_at: at };
    if (!(await this.deps.repository.update(version, row.status, changes))) {
      throw conflict(`Version ${version} changed while it was being yanked; try again`);
    }
    await this.event('release.yanked', actor, { version, reason: reason ?? null });
    return viewOf({ ...row, ...changes });
  }

  /** Only drafts can be deleted (a published release may be installed somewhere: yank it instead). */
  async remove(actor: ReleaseActor, version: string): Promise<void> {
    const row = await this.require(version);
    if (row.status !== 'draft')
      throw conflict(`Version ${version} is ${row.status}: yank it instead of deleting`);
    if (!(await this.deps.repository.delete(version, 'draft'))) {
      throw conflict(`Version ${version} changed while it was being deleted; try again`);
    }
    if (row.artifact_path) await this.deps.store.remove(row.artifact_path);
    await this.event('release.deleted', actor, { version });
  }
}
