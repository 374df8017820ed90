/**
 * Real answers recorded from a running service (each service's `scripts/record-examples.ts` →
 * `openapi-examples.json`, keyed `"<METHOD> <path template>" → { "<status>": answer }`), each put into its
 * operation as the JSON `example` of that status. Both services serve their document this way
 * (`/api/v1/openapi.json`) and commit it (`openapi.json`); the examples are imported as JSON, so a bundle has them.
 * Each service's openapi test validates every example against its schema.
 */
export function withRecordedExamples(
  doc: Record<string, unknown>,
  examples: Record<string, Record<string, unknown>>,
  service: string,
): Record<string, unknown> {
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
