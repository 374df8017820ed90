import DOMPurify from 'dompurify';
import { Marked } from 'marked';

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', '_blank');
  }
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Raw HTML in a changelog is shown as text: it never reaches a parser as markup. */
const marked = new Marked({ gfm: true, async: false, renderer: { html: ({ text }) => escapeHtml(text) } });

/**
 * Changelog Markdown → HTML that is safe to insert: raw HTML is escaped by the renderer, and DOMPurify then
 * removes anything that could still run (event handlers, `javascript:`/`data:` URLs from Markdown links,
 * images: no outside requests). The CSP would refuse an inline script as well; the sanitiser does not rely
 * on it.
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ['img', 'style', 'iframe', 'form', 'input', 'svg', 'math'],
    FORBID_ATTR: ['style'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|\/)/i,
  });
}
