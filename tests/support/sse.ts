/**
 * A plain-HTTP subscription client: Server-Sent Events as GraphQL Yoga serves them
 * (`Accept: text/event-stream`), read straight from fetch's body stream.
 */
export interface SseSubscription {
  next(deadlineMs?: number): Promise<{ data?: any; errors?: any[] }>;
  close(): void;
}

export async function sseSubscribe(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<SseSubscription> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  // A refused subscription still arrives as a stream with the error (yoga may set a 4xx/5xx status).
  if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    throw new Error(`SSE request failed: ${response.status} ${await response.text()}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: { data?: any; errors?: any[] }[] = [];
  const waiters: ((event: { data?: any; errors?: any[] }) => void)[] = [];
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (kind === 'next' && data) {
            const event = JSON.parse(data);
            const waiter = waiters.shift();
            if (waiter) waiter(event);
            else events.push(event);
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    next(deadlineMs = 30_000) {
      const queued = events.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no SSE event within ${deadlineMs} ms`)), deadlineMs);
        waiters.push((event) => {
          clearTimeout(timer);
          resolve(event);
        });
      });
    },
    close: () => controller.abort(),
  };
}
