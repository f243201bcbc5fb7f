const MAX_SHOWN = 120;

/** Shortens text quoted in an error message, since untrusted input can make it megabytes long. */
export function abbreviate(text: string): string {
  return text.length <= MAX_SHOWN ? text : `…${text.slice(-MAX_SHOWN)}`;
}
