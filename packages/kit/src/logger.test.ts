import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, LogSink, requestLogWriterOf } from './logger';
import { tempDir } from './testing';

const FIXTURE = fileURLToPath(new URL('../test/fixtures/log-writer.ts', import.meta.url));

function runFixture(mode: string, onStdout?: (child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  onStdout?.(child);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: err })),
  );
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('LogSink', () => {
  it('writes lines in order, batched per event-loop turn, and flush() writes what is pending at once', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'out.log');
      const sink = new LogSink(file);
      for (let i = 0; i < 100; i++) sink.write(`${i}\n`);
      expect(readFileSync(file, 'utf8')).toBe(''); // nothing written inside the turn
      await new Promise((r) => setImmediate(r));
      expect(readFileSync(file, 'utf8').split('\n').slice(0, 3)).toEqual(['0', '1', '2']);
      sink.write('last\n');
      sink.flush();
      const all = readFileSync(file, 'utf8').trim().split('\n');
      expect(all).toHaveLength(101);
      expect(all.at(-1)).toBe('last');
      sink.end();
    } finally {
      dir.remove();
    }
  });

  it('still writes the pending lines when the process exits right after logging', async () => {
    const { code, stdout } = await runFixture('exit');
    expect(code).toBe(0);
    const got = lines(stdout);
    expect(got).toHaveLength(1000);
    expect(got.map((l) => l.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('never blocks the event loop on a reader that stops reading, and accounts for every line', async () => {
    const { code, stdout, stderr } = await runFixture('flood', (child) => {
      // Stop reading for a second: the pipe fills up and writes get EAGAIN.
      setTimeout(() => child.stdout?.pause(), 50);
      setTimeout(() => child.stdout?.resume(), 1050);
    });
    expect(code).toBe(0);
    const summary = JSON.parse(stderr.trim().split('\n').at(-1) as string) as {
      written: number;
      worstGapMs: number;
    };
    // A blocking write would stall the loop for the whole second the reader paused.
    expect(summary.worstGapMs).toBeLessThan(500);
    const got = lines(stdout);
    const flood = got.filter((l) => l.msg === 'flood');
    const dropped = got
      .filter((l) => l.msg === 'log lines dropped: the log reader did not keep up')
      .reduce((n, l) => n + Number(l.dropped), 0);
    expect(flood.length + dropped).toBe(summary.written);
    // Lines that were written arrive whole and in order.
    const ns = flood.map((l) => l.n as number);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
  }, 20_000);
});

/**
 * Runs the `stall` fixture with a reader that reads nothing until the fixture says it has stalled (and `delayMs`
 * more), then reads everything.
 */
function runStall(flush: boolean, delayMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'stall', flush ? 'flush' : ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stdout.pause();
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (err.includes('stalled\n')) setTimeout(() => child.stdout.resume(), delayMs);
  });
  return new Promise<{ code: number | null; stdout: string; written: number }>((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        written: (JSON.parse(err.trim().split('\n').at(-1) as string) as { written: number }).written,
      }),
    ),
  );
}

/** Every line 0..written-1 arrives in order, or is counted by a `dropped` warning standing exactly in its gap. */
function expectAccountedInPlace(stdout: string, written: number) {
  const got = lines(stdout);
  let next = 0;
  let pendingWarning = 0;
  let warnings = 0;
  for (const l of got) {
    if (l.msg === 'log lines dropped: the log reader did not keep up') {
      // (Two in a row when the reader stayed away across two write-outs: one gap, counted in two parts.)
      pendingWarning += Number(l.dropped);
      warnings++;
      expect(l.service, 'the warning names the service like every other line').toBe('fixture');
      continue;
    }
    expect(l.msg).toBe('line');
    // A gap in the numbers is exactly the count of the warning right before the line that follows it.
    expect(l.n, `line after ${next - 1}`).toBe(next + pendingWarning);
    next = (l.n as number) + 1;
    pendingWarning = 0;
  }
  expect(warnings, 'the test must make the sink drop lines').toBeGreaterThan(0);
  // The lines logged once the reader was back all arrived.
  expect(next).toBe(written);
  expect(pendingWarning).toBe(0);
}

describe('LogSink with a reader that stalls past the bound', () => {
  it('drops and counts lines, puts each `dropped` warning where its lines are missing, and recovers', async () => {
    const { code, stdout, written } = await runStall(false, 0);
    expect(code).toBe(0);
    expectAccountedInPlace(stdout, written);
  }, 20_000);

  it('keeps logging after a flush() that waited for the reader', async () => {
    const { code, stdout, written } = await runStall(true, 0);
    expect(code).toBe(0);
    expectAccountedInPlace(stdout, written);
  }, 20_000);

  it('loses nothing when flush() gives up on a reader that stays away longer', async () => {
    const { code, stdout, written } = await runStall(true, 2_500);
    expect(code).toBe(0);
    expectAccountedInPlace(stdout, written);
  }, 20_000);
});

describe('request log line', () => {
  it('is the line pino writes for child({ reqId }).info({ method, url, status, ms }, "request")', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'req.log');
      const logger = createLogger({ level: 'info', name: 'panel', destination: file });
      const write = requestLogWriterOf(logger);
      expect(write).toBeTypeOf('function');
      write?.('abc-1', 'GET', '/api/v1/users/:username', 200, 1.5);
      write?.('abc-2', 'GET', '/odd "path"\\with\u0001controls', 404, 0.1);
      logger
        .child({ reqId: 'abc-1' })
        .info({ method: 'GET', url: '/api/v1/users/:username', status: 200, ms: 1.5 }, 'request');
      logger.flush();
      const [fast, odd, viaPino] = readFileSync(file, 'utf8').trim().split('\n') as [string, string, string];
      const strip = (l: string) => l.replace(/"time":"[^"]+"/, '"time":"T"');
      expect(strip(fast)).toBe(strip(viaPino));
      expect(JSON.parse(odd)).toMatchObject({ url: '/odd "path"\\with\u0001controls', status: 404 });
    } finally {
      dir.remove();
    }
  });

  it('follows the logger level, also when it changes at run time', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'lvl.log');
      const logger = createLogger({ level: 'warn', name: 'panel', destination: file });
      const write = requestLogWriterOf(logger);
      write?.('a', 'GET', '/x', 200, 1);
      logger.level = 'info';
      write?.('b', 'GET', '/y', 200, 1);
      logger.flush();
      expect(lines(readFileSync(file, 'utf8')).map((l) => l.reqId)).toEqual(['b']);
    } finally {
      dir.remove();
    }
  });

  it('is absent for a logger not made by createLogger (callers fall back to log.info)', () => {
    expect(requestLogWriterOf(pino({ level: 'silent' }))).toBeUndefined();
    expect(requestLogWriterOf(createLogger({ level: 'silent' }))).toBeUndefined();
  });
});
