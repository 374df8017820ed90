export { renderMarkdown } from '@wispanel/ui';
