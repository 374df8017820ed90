// Mutation testing of the security-critical code: `npm run mutate` (scripts/mutate.mjs), see docs/mutation-testing.md.
// Each group names the files it mutates and the test files allowed to kill their mutants; with perTest
// coverage analysis each mutant then runs only the tests that reach it. `MUTATE_GROUPS=contract,auth`
// narrows a run to some groups (CI runs `contract`).
//
// Surviving mutants that are NOT killed are listed, with the reason, in `explained` below; scripts/mutate.mjs
// fails when a file scores under 85 % or a survivor is neither killed nor explained.

export const groups = {
  contract: {
    mutate: [
      'packages/contract/src/signing.ts',
      'packages/contract/src/license-file.ts',
      'packages/contract/src/scopes.ts',
      // channelIncludes only: the rest of the file is TypeBox wire schemas (proven by the OpenAPI and route tests).
      'packages/contract/src/releases.ts:15-17',
    ],
    testFiles: ['packages/contract/src/*.test.ts'],
  },
  // The address, token and restricted-key rules: pure, killed by unit tests (minutes).
  'auth-rules': {
    mutate: [
      'packages/panel/src/modules/auth/ip-whitelist.ts',
      'packages/panel/src/modules/auth/actor.ts',
      'packages/panel/src/modules/auth/tokens.ts',
    ],
    testFiles: ['packages/panel/test/ip-whitelist*.test.ts', 'packages/panel/test/escalation*.test.ts'],
  },
  // The auth hook, the credential lookup and key issuing, killed by their own fast suites (*.rules.test.ts: the
  // services against a real SQLite file, the hook on a small app through fastify inject). Those suites run the
  // mutated code only inside tests (beforeAll opens the database and writes rows with plain SQL), so each mutant
  // reruns only the tests that reach it. The panel's HTTP suites (auth*, api-keys*, security*, escalation*) also
  // prove these files in `npm test`, but are not used here: they build a whole panel and create accounts and keys
  // in beforeAll, which makes nearly every mutant "static" (rerun against every suite: well over an hour).
  auth: {
    mutate: [
      'packages/panel/src/modules/auth/auth.hook.ts',
      'packages/panel/src/modules/auth/auth.service.ts',
      'packages/panel/src/modules/api-keys/api-keys.service.ts',
    ],
    testFiles: [
      'packages/panel/test/auth.hook.rules.test.ts',
      'packages/panel/test/auth.service.rules.test.ts',
      'packages/panel/test/api-keys.service.rules.test.ts',
    ],
  },
  license: {
    mutate: [
      'packages/panel/src/modules/license/portal-exchange.ts',
      'packages/panel/src/modules/license/trusted-clock.ts',
      'packages/panel/src/modules/license/license-state.ts',
      // trustFromKeySet: which listed keys may sign a new answer (the rest of the file reads config files).
      'packages/panel/src/modules/license/portal-trust.ts:27-33',
    ],
    testFiles: [
      'packages/panel/test/license-exchange*.test.ts',
      'packages/panel/test/license-state*.test.ts',
      'packages/panel/test/trusted-time*.test.ts',
      'packages/panel/test/portal-exchange*.test.ts',
    ],
  },
  // The portal's signing threads: what they answer is what a panel trusts. Killed by their own suite (real
  // worker threads, real Ed25519 keys, crashing and silent stand-in workers).
  signing: {
    mutate: ['packages/portal/src/modules/signing/signing-threads.ts'],
    testFiles: ['packages/portal/src/modules/signing/signing-threads.test.ts'],
  },
  // Signature/metadata checks, the archive rules and the unpack while downloading (release-stream.ts), killed by
  // unit suites next to the code. release-stream.ts by its own fast suite (release-stream.rules.test.ts:
  // StreamedUnpack fed real tarballs directly); update-stream.test.ts (the whole pipeline over HTTPS, ~9 s a run)
  // proves it again in `npm test` but is left out here: every release-archive and release-stream mutant would
  // rerun it.
  updates: {
    mutate: [
      'packages/panel/src/modules/updates/verify.ts',
      'packages/panel/src/modules/updates/release-archive.ts',
      'packages/panel/src/modules/updates/release-stream.ts',
    ],
    testFiles: [
      'packages/panel/src/modules/updates/release-archive*.test.ts',
      'packages/panel/src/modules/updates/release-stream*.test.ts',
      'packages/panel/src/modules/updates/verify*.test.ts',
    ],
  },
};

/**
 * Survivors that are not killed, each with the reason. A mutant matches an entry by file (suffix), Stryker's
 * mutator name, a piece of its original source line and (optionally) a piece of its replacement.
 * Kinds of reason: EQUIVALENT (the mutant behaves exactly like the original), UNOBSERVABLE (only the wording
 * or timing of something no caller sees changes), DEFENCE-IN-DEPTH (a second check behind one that already
 * refuses the same input; kept on purpose), NOT REPRODUCIBLE HERE (the condition needs something the test
 * machine cannot provide; the branch is proven through its sibling condition).
 */
export const explained = [
  // --- signing (portal signing threads) ---
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ArrowFunction',
    line: 'this.failedAt = this.slots.map(() => Number.NEGATIVE_INFINITY);',
    why: 'EQUIVALENT: Date.now() - undefined is NaN, and NaN < restartAfterMs is false, as for -Infinity: a slot that never failed starts its thread.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!this.scheduled) {',
    why: 'EQUIVALENT: one flush per sign() instead of per turn; the first flush takes the whole queue, the others find it empty and return.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'BooleanLiteral',
    line: 'this.scheduled = true;',
    why: 'EQUIVALENT: as above — extra flushes of an empty queue return at once.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ConditionalExpression',
    line: 'if (batch.length === 0) return;',
    why: 'EQUIVALENT: an empty queue is flushed only by close(), where the closed pool signs the empty batch here: nothing.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'UpdateOperator',
    line: 'const id = this.nextBatch++;',
    why: 'EQUIVALENT: batch ids counting down are as unique as counting up.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'UpdateOperator',
    line: 'id: this.nextKey++',
    why: 'EQUIVALENT: key ids counting down are as unique as counting up.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ConditionalExpression',
    line: 'if (k === undefined) {',
    why: 'EQUIVALENT in output: a new id for the same key each time only sends the thread its DER again (the same key, a copy more).',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!thread.known.has(k.id)) {',
    why: 'EQUIVALENT in output: sending a thread a key it already holds replaces it with the same key.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'EqualityOperator',
    line: 'if (performance.now() - this.failedAt[slot]! < this.restartAfterMs) return undefined;',
    why: 'EQUIVALENT but for one millisecond: < vs <= decides only a restart at exactly restartAfterMs.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!batch) return;',
    why: 'DEFENCE: an answer already on its way when its thread was retired (its batch signed here); not provokable without a race.',
  },
  {
    file: 'packages/portal/src/modules/signing/signing-threads.ts',
    mutator: 'BlockStatement',
    line: '} catch (cannotStart) {',
    why: 'DEFENCE (no coverage): new Worker() throwing (out of threads or memory) — not provokable here; the slot then signs here.',
  },
  // --- contract ---
  {
    file: 'packages/contract/src/signing.ts',
    mutator: 'StringLiteral',
    line: '/v1\\n', // the signing input: `wispanel/<type>/v1\n<payload>`
    replacement: '""',
    why: "EQUIVALENT: Buffer.from(text, '') decodes as UTF-8, the default encoding.",
  },
  {
    file: 'packages/contract/src/signing.ts',
    mutator: 'StringLiteral',
    line: "Buffer.from(JSON.stringify(payload), 'utf8')",
    replacement: '""',
    why: "EQUIVALENT: Buffer.from(text, '') decodes as UTF-8, the default encoding.",
  },
  {
    file: 'packages/contract/src/license-file.ts',
    mutator: 'StringLiteral',
    line: "Buffer.from(JSON.stringify(doc), 'utf8')",
    replacement: '""',
    why: "EQUIVALENT: Buffer.from(text, '') decodes as UTF-8, the default encoding.",
  },
  {
    file: 'packages/contract/src/signing.ts',
    mutator: 'ConditionalExpression',
    line: 'if (sig.length !== 64 || !verify(',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH: crypto.verify() itself refuses an Ed25519 signature of any length but 64 bytes (signing.tamper.test.ts proves 63 and 65 bytes are BAD_SIGNATURE either way); the length check only skips the call.',
  },
  {
    file: 'packages/contract/src/signing.ts',
    mutator: 'BlockStatement',
    line: '} catch {',
    replacement: '{}',
    why: 'EQUIVALENT: the catch block of peekDocument() only returns undefined, which an empty block returns too.',
  },
  {
    file: 'packages/contract/src/license-file.ts',
    mutator: 'Regex',
    line: ".replace(/\\s+/g, '')",
    replacement: '/\\s/g',
    why: 'EQUIVALENT: removing each whitespace character or each run of them gives the same text.',
  },
  {
    file: 'packages/contract/src/license-file.ts',
    mutator: 'ArrayDeclaration',
    line: 'body.match(/.{1,64}/g) ?? []',
    why: 'EQUIVALENT (unreachable): the base64 of a signed document is never empty, so match() never returns null.',
  },
  // --- auth-rules ---
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'StringLiteral',
    line: "const [address = '', prefixText, ...rest] = entry.trim().split('/');",
    why: 'EQUIVALENT (unreachable): split() always returns at least one element, so the default is never used.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'StringLiteral',
    line: "const [head = '', rest] = text.split('::');",
    why: 'EQUIVALENT (unreachable): split() always returns at least one element, so the default is never used.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'StringLiteral',
    line: "if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);",
    replacement: '""',
    why: "EQUIVALENT: once the dotted IPv4 tail is cut off, a valid IPv6 text always ends with ':', so endsWith('') and endsWith(':') agree.",
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (all.length !== 8) return null;',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH (unreachable): the address passed net.isIP() as IPv6, so it always has 8 groups once :: is filled.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (bits === null) return null;',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH (unreachable): parseIpEntry() already accepted the address as IPv4 or IPv6, for which addressBits() never returns null.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!list) {',
    replacement: 'true',
    why: 'UNOBSERVABLE: rebuilding the BlockList on every call gives the same answers, only slower (the cache is a speed-up).',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (cache.size > 1000) cache.clear();',
    why: 'UNOBSERVABLE: the bound only limits the memory of the cache; cleared or not, every list answers the same ("keeps answering correctly for many different lists").',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'EqualityOperator',
    line: 'if (cache.size > 1000) cache.clear();',
    why: 'UNOBSERVABLE: where exactly the cache is cleared changes memory use, not answers.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (family === 0) return false;',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH: BlockList.check() itself answers false for a text that is not an address (tested: "unknown", "").',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'if (version !== 6) return null;',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH (unreachable): addressBits() is only called with an address parseIpEntry() accepted (IPv4 returned above, so this is IPv6).',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'MethodExpression',
    line: 'let text = address.toLowerCase();',
    replacement: 'address.toUpperCase()',
    why: 'EQUIVALENT: BigInt() reads hex digits in either case and the :: and dotted-tail parsing has no letters.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'Regex',
    line: 'const dotted = /(\\d+\\.\\d+\\.\\d+\\.\\d+)$/.exec(text);',
    replacement: '/(\\d+\\.\\d+\\.\\d+\\.\\d+)/',
    why: 'EQUIVALENT: in an address net.isIP() accepted, a dotted IPv4 part can only be at the end, so the $ anchor changes nothing.',
  },
  {
    file: 'packages/panel/src/modules/auth/ip-whitelist.ts',
    mutator: 'ConditionalExpression',
    line: 'const fill = rest === undefined ? [] : Array<bigint>(8 - left.length - right.length).fill(0n);',
    replacement: 'false',
    why: 'EQUIVALENT: without :: a valid IPv6 address already has 8 groups, so the fill is Array(0), the same as [].',
  },
  // --- auth ---
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'ObjectLiteral',
    line: 'return hash(password, { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 });',
    replacement: '{}',
    why: "EQUIVALENT (today): @node-rs/argon2 2.x defaults are exactly Argon2id, m=19456, t=2, p=1; the options are spelled out so a change of the library's defaults cannot weaken stored hashes (auth.service.rules.test.ts pins the PHC parameters).",
  },
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'ConditionalExpression',
    line: 'if (grant.actor.keyIpWhitelist) Object.freeze(grant.actor.keyIpWhitelist);',
    replacement: 'true',
    why: 'EQUIVALENT: Object.freeze(undefined) returns undefined without throwing (a session grant has no key whitelist).',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!digestsEqual(storedHash, tokenHash)) throw unauthorized(',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH (unreachable): the row was found by `WHERE secret_hash = ?` / `token_hash = ?` with this very digest (an exact text match), so the constant-time comparison always agrees; it stays so a lookup that ever matched loosely could not grant.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'StringLiteral',
    line: 'if (!digestsEqual(storedHash, tokenHash)) throw unauthorized(',
    replacement: '""',
    why: 'DEFENCE-IN-DEPTH (unreachable, hence no coverage): the message of the check above, which never refuses.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'StringLiteral',
    line: "dummyHash ??= hashPassword('not a real password');",
    replacement: '""',
    why: 'EQUIVALENT: the dummy hash is verified only when the login name is unknown, and then the answer is 401 whatever the verification says (`!user || !ok`); it only makes both answers take as long.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.service.ts',
    mutator: 'ArrowFunction',
    line: '.catch(() => false);',
    replacement: '() => undefined',
    why: 'EQUIVALENT: undefined is falsy like false (the `() => true` mutant is killed: "refuses every password for an account whose stored hash is unreadable").',
  },
  {
    file: 'packages/panel/src/modules/api-keys/api-keys.service.ts',
    mutator: 'EqualityOperator',
    line: 'if (Date.parse(expiresAt) > Date.parse(ownExpiry)) expiresAt = ownExpiry;',
    replacement: '>=',
    why: "EQUIVALENT: at equal instants the new key gets the issuing key's expiry text instead of the computed one: the same instant and the same text, since every stored expires_at is written by issue() with toISOString() (the exact-day case is tested).",
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'ConditionalExpression',
    line: 'else if (config.auth) {',
    replacement: 'true',
    why: 'EQUIVALENT: a route that is not public always has config.auth here (registration threw above otherwise).',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'LogicalOperator',
    line: 'if (config.public !== true && config.auth) {',
    why: 'EQUIVALENT: a route with config.auth is never public (declaring both threw above), so config.auth alone decides; the mutants that drop config.auth or invert the public test are killed.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'ConditionalExpression',
    line: 'if (config.public !== true && config.auth) {',
    replacement: 'true',
    why: 'EQUIVALENT: `true && config.auth`: a route with config.auth is never public (declaring both threw above).',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'BooleanLiteral',
    line: 'if (config.public !== true && config.auth) {',
    replacement: 'false',
    why: 'EQUIVALENT: `config.public !== false && config.auth`: a route with config.auth has public unset or false (declaring both threw above), so config.auth alone decides.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'ObjectLiteral',
    line: "throw new AppError('RATE_LIMITED'",
    replacement: '{}',
    why: "EQUIVALENT: the same headers were set on the reply the line above (reply.headers(headers)), and kit's error handler keeps them; the 429 carries Limit/Remaining/Reset and Retry-After either way (tested).",
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'ConditionalExpression',
    line: 'if (ipWhitelist.length > 0 && !ipAllowed(ipWhitelist, request.ip)) {',
    replacement: 'true',
    why: 'EQUIVALENT: ipAllowed() itself answers true for an empty list ("an empty list allows every address"); the length check only skips the call.',
  },
  {
    file: 'packages/panel/src/modules/auth/auth.hook.ts',
    mutator: 'EqualityOperator',
    line: 'if (ipWhitelist.length > 0 && !ipAllowed(ipWhitelist, request.ip)) {',
    replacement: '>= 0',
    why: 'EQUIVALENT: as above, ipAllowed([], ip) is true.',
  },
  // --- license ---
  {
    file: 'packages/panel/src/modules/license/portal-exchange.ts',
    mutator: 'ConditionalExpression',
    line: 'const floor = expect.signedFloor === null ? Number.NaN : Date.parse(expect.signedFloor);',
    replacement: 'false',
    why: 'EQUIVALENT: Date.parse(null) is NaN too, so a missing floor disables the check either way.',
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'ArrayDeclaration',
    line: 'extra: Array<string | null | undefined> = [],',
    why: "EQUIVALENT: the default list only ever holds the mutant's text, which is not a date and is skipped.",
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'ConditionalExpression',
    line: 'if (!t) continue;',
    replacement: 'false',
    why: 'EQUIVALENT: Date.parse() of null, undefined and "" is NaN, which the Number.isFinite check skips anyway.',
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'EqualityOperator',
    line: 'if (Number.isFinite(ms) && (floor === null || ms > floor)) floor = ms;',
    replacement: 'ms >= floor',
    why: 'EQUIVALENT: replacing the floor by an equal time changes nothing.',
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'EqualityOperator',
    line: 'if (mono > this.mono) {',
    replacement: 'mono >= this.mono',
    why: 'EQUIVALENT: with equal monotonic readings the block adds 0 ms.',
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'EqualityOperator',
    line: 'if (offset >= 0 && offset <= this.src.toleranceMs) {',
    replacement: 'offset > 0',
    why: 'EQUIVALENT: at offset 0 the first branch adds 0 ms and clears `ahead`; the mutant falls to the last branch, which also only clears `ahead`.',
  },
  {
    file: 'packages/panel/src/modules/license/trusted-clock.ts',
    mutator: 'EqualityOperator',
    line: '} else if (offset > this.src.toleranceMs) {',
    replacement: 'offset >= this.src.toleranceMs',
    why: 'EQUIVALENT: an offset equal to the tolerance was taken by the first branch (0 <= offset <= tolerance).',
  },
  {
    file: 'packages/panel/src/modules/license/license-state.ts',
    mutator: 'ConditionalExpression',
    line: 'const behindMs = input.trustedFloor === null ? 0 : Math.max(0, input.trustedFloor - input.systemNow);',
    replacement: 'false',
    why: 'EQUIVALENT: null - systemNow is -systemNow, and Math.max(0, -systemNow) is 0 for every system time after 1970.',
  },
  // --- updates ---
  {
    file: 'packages/panel/src/modules/updates/verify.ts',
    mutator: 'ConditionalExpression',
    line: "if (typeof release.version !== 'string' || !semver.valid(release.version))",
    replacement: 'false',
    why: 'EQUIVALENT: semver.valid() returns null for anything but a string (or a SemVer object, which JSON cannot carry), so the second check refuses every non-string alone.',
  },
  {
    file: 'packages/panel/src/modules/updates/verify.ts',
    mutator: 'EqualityOperator',
    line: 'if (cmp < 0 && !allowDowngrade)',
    replacement: 'cmp <= 0',
    why: 'EQUIVALENT: cmp === 0 was refused just above (already running), so <= 0 and < 0 take the same inputs here.',
  },
  {
    file: 'packages/panel/src/modules/updates/verify.ts',
    mutator: 'EqualityOperator',
    line: 'if (cmp > 0 && release.min_version',
    replacement: 'cmp >= 0',
    why: 'EQUIVALENT: cmp === 0 was refused above (already running), so >= 0 and > 0 take the same inputs here.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'LogicalOperator',
    line: "if (raw.startsWith('/') || isAbsolute(raw) || /^[A-Za-z]:/.test(raw))",
    replacement: "raw.startsWith('/') && isAbsolute(raw)",
    why: "EQUIVALENT (POSIX): path.isAbsolute(p) is exactly p.startsWith('/'), so && and || of the two agree.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'ConditionalExpression',
    line: 'if (problems.length < 100) problems.push(reason);',
    replacement: 'true',
    why: 'UNOBSERVABLE: the cap only bounds the memory a hostile archive can make the panel hold; the refusal names the first three problems either way (release-archive.unpack.test.ts, 250 bad entries).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'EqualityOperator',
    line: 'if (problems.length < 100) problems.push(reason);',
    replacement: 'problems.length <= 100',
    why: 'UNOBSERVABLE: 100 or 101 kept problems; the refusal names the first three either way.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'BooleanLiteral',
    line: 'rmSync(tmp, { recursive: true, force: true });',
    replacement: 'false',
    why: 'EQUIVALENT: force:false only changes rmSync on a missing path, and the temp dir always exists here (created before unpacking; every failure path removes it exactly once). The recursive:false mutants on these lines are killed (the tests check releases/ is left empty).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'ConditionalExpression',
    line: "if (errno === 'ENOSPC' || errno === 'EDQUOT')",
    replacement: 'false',
    why: 'NOT REPRODUCIBLE HERE: EDQUOT needs a filesystem with user quotas, which the tests cannot set up; it takes the same branch as ENOSPC, proven on a real full tmpfs (release-archive.unpack.test.ts, "the disk fills while unpacking").',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'StringLiteral',
    line: "if (errno === 'ENOSPC' || errno === 'EDQUOT')",
    replacement: '""',
    why: 'NOT REPRODUCIBLE HERE: the EDQUOT half (a quota-enabled filesystem); the ENOSPC half is killed on a real full tmpfs.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'StringLiteral',
    line: "JSON.parse(readFileSync(join(tmp, 'release-manifest.json'), 'utf8'))",
    replacement: '""',
    why: "EQUIVALENT: readFileSync(path, '') returns a Buffer and JSON.parse() reads it as UTF-8 text, like the 'utf8' string.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'ConditionalExpression',
    line: 'if (cut <= 0) break;',
    replacement: 'false',
    why: "EQUIVALENT (unreachable): the cut-back target always reaches the link's own directory, which exists inside the unpacked tree, so realpath succeeds before the cut reaches the filesystem root.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'EqualityOperator',
    line: 'if (cut <= 0) break;',
    replacement: 'cut < 0',
    why: "EQUIVALENT (unreachable): as above, the link's own directory resolves before the cut reaches the root.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'ConditionalExpression',
    line: 'if (problems.length >= 3) break;',
    replacement: 'false',
    why: 'UNOBSERVABLE: the walk only stops early once the three problems the refusal names are found; walking on finds more that are never shown.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-archive.ts',
    mutator: 'EqualityOperator',
    line: 'if (problems.length >= 3) break;',
    replacement: 'problems.length > 3',
    why: 'UNOBSERVABLE: a fourth escaping link found before stopping is never shown (the refusal names three).',
  },
  // --- updates: release-stream.ts (the unpack while downloading) ---
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'LogicalOperator',
    line: 'if (this.unpack === unpack && this.given === null) {',
    why: "DEFENCE-IN-DEPTH: as for the ConditionalExpression mutants of this line: giveUp() returns at once when a reason is set, and a dropped unpack's stream always has one when its errors arrive.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (unpack && this.given === null) this.given = reason;',
    replacement: 'true',
    why: 'EQUIVALENT (this half only): with a live unpack, drop() is called by begin() (which resets `given` right after) or by discard() with `this.given ?? \'restart\'`, so overwriting a set reason writes the same value; the mutants that drop the `unpack` half are killed ("discard() before begin() or after a streamed install()").',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: '    if (unpack) {',
    replacement: 'false',
    why: 'NOT RELIABLY KILLED: the same change as the BlockStatement mutant of this line, which "discard() mid-stream" kills by time (node-tar never ended, so discard() waits its full 2 s cap: 2003 ms against the 1500 ms asserted); in 1 of 3 manual runs node-tar settled by itself and the test passed, and in the last Stryker run this one passed while the identical BlockStatement mutant was killed.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'BlockStatement',
    line: '    if (g) {',
    replacement: '{}',
    why: 'UNOBSERVABLE: the same as emptying stopGunzip() (see there).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (this.unpack === unpack && this.given === null) {',
    why: 'DEFENCE-IN-DEPTH: both halves keep an error of an unpack that was already given up or dropped from changing the outcome; giveUp() itself returns at once when a reason is set (drop() and giveUp() set it before ending/aborting node-tar, whose errors come synchronously there), so each half alone is redundant with that guard. The rules tests restart, give up and discard mid-entry with the outcome asserted.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'StringLiteral',
    line: "const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);",
    replacement: '""',
    why: 'NOT REPRODUCIBLE HERE: the EDQUOT half (a quota-enabled filesystem); the ENOSPC half is killed on a real full tmpfs under staging/ (release-stream.rules.test.ts "a full disk under staging/").',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (this.unpack === unpack) this.entry = e;',
    replacement: 'true',
    why: "EQUIVALENT: after drop() the old unpack's filter refuses every further entry (`this.unpack !== unpack`), and node-tar emits 'ignoredEntry', never 'entry', for refused ones, so only the current unpack's entries reach this line.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ObjectLiteral',
    line: 'const gunzip = createGunzip({ chunkSize: 256 * 1024 });',
    replacement: '{}',
    why: 'UNOBSERVABLE: the inflate chunk size (16 KiB default vs 256 KiB) changes CPU use and speed, not what is unpacked or refused.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'BooleanLiteral',
    line: 'if (!unpack.write(c)) gunzip.pause();',
    why: "UNOBSERVABLE (survived in one run, timed out in the next): back-pressure from node-tar to the inflater only bounds the memory the inflated-but-not-yet-written bytes take; node-tar also emits 'drain' whenever its entry queue runs empty (tar/dist/esm/parse.js), so the inverted test never stalls, and what lands on disk and every outcome are the same (the budget counts entries, not buffers).",
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: "if (this.gunzip === gunzip) this.giveUp('archive');",
    replacement: 'true',
    why: 'DEFENCE-IN-DEPTH: an inflater that is no longer current was destroyed without an error by stopGunzip() (it emits none), and giveUp() returns at once when a reason is already set.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ArrowFunction',
    line: 'setTimeout(r, 2000).unref())]);',
    why: 'DEFENCE-IN-DEPTH: the 2 s cap only matters if node-tar never settles after end(); it always does here ("discard() mid-stream" asserts discard() returns in well under 2 s).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (this.given !== null) return;',
    replacement: 'false',
    why: 'DEFENCE-IN-DEPTH: every caller already checks that no reason is set (the filter, the unpack and inflater error handlers), so giveUp() never runs twice; the early return keeps the first reason if one ever did.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'OptionalChaining',
    line: 'this.unpack?.abort(new Error(reason));',
    why: "EQUIVALENT (unreachable): giveUp() only runs from the current unpack's or inflater's handlers, so the unpack is set.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (this.dir) rmSync(this.dir, { recursive: true, force: true });',
    replacement: 'true',
    why: 'EQUIVALENT (unreachable): giveUp() and drop() with a live stream always have the dir set; drop() without one (before begin, after install) is the only null case, and rmSync(null) would throw there \u2014 killed for drop() by "discard() before begin()"; in giveUp() a live stream is guaranteed.',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'BooleanLiteral',
    line: 'if (this.dir) rmSync(this.dir, { recursive: true, force: true });',
    replacement: 'false',
    why: 'EQUIVALENT: force only changes rmSync on a missing path; the dir of a live stream exists (created by begin, removed only here).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'BlockStatement',
    line: 'private stopGunzip(): void {',
    replacement: '{}',
    why: 'UNOBSERVABLE (survived in one run, crashed the Stryker test runner in the next): stopping the inflater only saves the CPU of inflating bytes it already holds; once the stream is given up or dropped, node-tar is aborted/ended and its filter refuses every entry, so nothing more reaches disk and the sink takes no more bytes (tested).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'ConditionalExpression',
    line: 'if (g) {',
    replacement: 'false',
    why: 'UNOBSERVABLE: as above (the inflater is left running on what it holds; nothing of it is written).',
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'StringLiteral',
    line: "g.on('error', () => {});",
    replacement: '""',
    why: "EQUIVALENT: destroy() without an error emits no 'error'; the handler is only a safety net.",
  },
  {
    file: 'packages/panel/src/modules/updates/release-stream.ts',
    mutator: 'BooleanLiteral',
    line: 'if (n.startsWith(prefix)) rmSync(join(this.layout.stagingDir, n), { recursive: true, force: true });',
    replacement: 'false',
    why: 'EQUIVALENT: force only changes rmSync on a missing path, and the name was just listed by readdirSync.',
  },
];

const selected = (process.env.MUTATE_GROUPS ?? Object.keys(groups).join(','))
  .split(',')
  .map((g) => g.trim())
  .filter(Boolean);
for (const g of selected) if (!groups[g]) throw new Error(`unknown mutation group ${g}`);

// Read by vitest.mutate.config.ts in Stryker's test-runner processes (they inherit this environment).
process.env.MUTATE_TEST_FILES = selected.flatMap((g) => groups[g].testFiles).join(',');

const reportDir = process.env.MUTATE_REPORT_DIR ?? '.tmp/mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest-strict',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/mutate/strict-vitest-runner.mjs'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: selected.flatMap((g) => groups[g].mutate),
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${reportDir}/mutation.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  tempDirName: `.tmp/stryker-${process.pid}`,
  cleanTempDir: true,
  ignorePatterns: ['.tmp', 'data', 'dist', 'coverage', 'packages/*/dist', '*.log'],
  thresholds: { high: 90, low: 85, break: null },
};
