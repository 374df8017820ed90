import { renderMarkdown } from './markdown';

/** Changelog Markdown shown safely: sanitised by DOMPurify in renderMarkdown (scripts and javascript: links removed). */
export function Markdown({ source }: { source: string }) {
  return <div className="changelog" dangerouslySetInnerHTML={{ __html: renderMarkdown(source) }} />;
}
