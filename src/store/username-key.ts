/**
 * The form in which usernames are compared: `Eve` and `eve`, or `é` typed precomposed
 * (U+00E9) and decomposed (`e` U+0301), are one username. The key is stored beside the
 * username as registered (people.username_key, unique), and every lookup by username
 * goes through it; the username itself is kept and shown as it was registered.
 *
 * NFC first (Unicode Standard Annex #15), so canonically equivalent spellings meet; then
 * a case fold, per code point, upper case and back to lower: this is close to Unicode
 * full case folding (CaseFolding.txt) — `ß` and `ss`, `ς` and `σ`, `ﬁ` and `fi` meet —
 * and locale-independent. `toLocaleLowerCase` is not: under a Turkish locale `I` would
 * become dotless `ı`, and a server's locale would decide who is who. Per code point,
 * because `toLowerCase` on a whole string applies the Final_Sigma rule (`Σ` at a word's
 * end becomes `ς`), which would make the key depend on position. NFC again at the end:
 * case mappings can leave a string that is not in NFC (`İ` lowers to `i` + U+0307).
 */
export function usernameKey(username: string): string {
  let folded = '';
  for (const c of username.normalize('NFC')) folded += c.toUpperCase().toLowerCase();
  return folded.normalize('NFC');
}
