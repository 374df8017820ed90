import { RELEASE_CHANNELS } from '@wispanel/contract';
import { Type } from 'typebox';

/** Strict semver without build metadata (semver.org's regular expression, minus the `+build` part). */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$';

export const Semver = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: SEMVER_PATTERN,
    description,
    'x-format-message': 'must be a semantic version such as 1.4.2 or 1.5.0-beta.1.',
  });

export const Channel = Type.Enum([...RELEASE_CHANNELS], {
  description: 'stable ⊂ beta ⊂ alpha: a panel on beta is offered stable and beta releases',
});

export const ReleaseStatusSchema = Type.Enum(['draft', 'published', 'yanked']);
