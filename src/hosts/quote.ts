/**
 * The one function that turns an argv into a command string for a POSIX remote shell (ssh always runs the
 * command through the login user's shell). Every argument is wrapped in single quotes, inside which a POSIX
 * shell treats every byte literally; a single quote itself is written as '\'' (close, escaped quote, reopen).
 * Nothing else needs escaping: not $, `, \, newlines, globs or a leading dash (the dash is the program's concern;
 * callers put `--` where the program supports it).
 */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}

/** One argument, single-quoted. The empty string becomes '' so it stays an argument. */
export function quoteArg(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
