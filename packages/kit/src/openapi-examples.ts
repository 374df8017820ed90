import { existsSync, readFileSync } from 'node:fs';

/**
 * Real answers recorded from a running service (each service's `scripts/record-examples.ts` →
 * `openapi-examples.json`, keyed `"<METHOD> <path template>" → { "<status>": answer }`), each put into its
 * operation as the JSON `example` of that status. Without the file (a release bundle) the document is unchanged.
 * Each service's openapi test validates every example against its schema.
 */
export function withRecordedExamples(
  doc: Record<string, unknown>,
  examplesFile: URL | string,
  service: string,
): Record<string, unknown> {
  if (!existsSync(examplesFile)) return doc;
  const examples = JSON.parse(readFileSync(examplesFile, 'utf8')) as Record<string, Record<string, unknown>>;
  // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
  const paths = doc.paths as Record<string, Record<string, any>>;
  for (const [operation, byStatus] of Object.entries(examples)) {
    const [method, path] = operation.split(' ') as [string, string];
    const op = paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`openapi-examples.json: ${operation} is not an operation of the ${service}`);
    for (const [status, example] of Object.entries(byStatus)) {
      const media = op.responses?.[status]?.content?.['application/json'];
      if (!media) throw new Error(`openapi-examples.json: ${operation} documents no JSON answer ${status}`);
      media.example = example;
    }
  }
  return doc;
}
