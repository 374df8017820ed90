// Regenerates packages/panel/openapi.json from the route schemas: `npx tsx packages/panel/scripts/write-openapi.ts`
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateOpenApiDocument, serializeOpenApi } from '../src/openapi-document';

const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
writeFileSync(target, serializeOpenApi(await generateOpenApiDocument()));
console.log(`wrote ${target}`);
