/**
 * A domain a panel may host: ASCII (IDNs in punycode `xn--…`), 2+ labels, each 1–63 of a-z 0-9 -, not
 * starting or ending with '-', a non-numeric TLD, at most 253 characters. Returns the problem, or null.
 */
export function hostnameProblem(name: string): string | null {
  if (name.length === 0) return 'Domain is required';
  if (name.length > 253) return 'Domain must be at most 253 characters';
  if (/[^\x21-\x7e]/.test(name))
    return 'Domain must be ASCII without spaces (use punycode for international names)';
  const labels = name.split('.');
  if (labels.length < 2) return 'Domain must have at least two labels, like example.com';
  for (const label of labels) {
    if (label.length === 0) return 'Domain must not contain empty labels';
    if (label.length > 63) return 'Each domain label must be at most 63 characters';
    if (!/^[a-z0-9-]+$/.test(label)) return 'Domain labels may contain only letters, digits and hyphens';
    if (label.startsWith('-') || label.endsWith('-'))
      return 'Domain labels must not start or end with a hyphen';
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? ''))
    return 'Domain must not be an IP address or end in a numeric label';
  return null;
}
