/** A short list of keys for messages: `a, b, c … (12 in all)`. */
export function formatKeyList(keys: readonly string[], shown = 3): string {
  if (keys.length <= shown + 1) return keys.join(', ');
  return `${keys.slice(0, shown).join(', ')} … ${keys[keys.length - 1]} (${keys.length} in all)`;
}
