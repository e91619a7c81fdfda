/**
 * `p`, or a rejection naming the deadline once `ms` have passed without its answer. `p` itself
 * goes on (a late answer is ignored by this caller); its own failure after the deadline is not
 * reported here.
 */
export async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a failure after the deadline has no one awaiting it
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
