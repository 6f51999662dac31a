/** The y/N question docker asks before destructive commands (on stderr; no answer means no). */
export async function confirm(question = 'Are you sure you want to continue? [y/N] '): Promise<boolean> {
  // loaded only when a prompt is needed: readline is not free at start-up
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await Promise.race([rl.question(question), new Promise<string>((resolve) => rl.once('close', () => resolve('')))]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
