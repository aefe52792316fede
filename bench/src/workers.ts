/**
 * Load generators (devices, subscribers, HTTP clients) run in child processes, so that the server
 * under test has its event loop to itself, as it has in production; its own CPU time can then be
 * read from the bench process. Parent and child talk over Node's IPC channel: the parent calls
 * named methods, the child answers with their results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Call {
  id: number;
  method: string;
  args: unknown;
}
type Answer = { id: number; result: unknown } | { id: number; error: string };

export class Worker {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: Answer) => {
      const entry = this.waiting.get(message.id);
      if (!entry) return;
      this.waiting.delete(message.id);
      if ('error' in message) entry.reject(new Error(message.error));
      else entry.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const entry of this.waiting.values()) entry.reject(new Error(`worker exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** Starts `module` (a file under src/load) in a child process with the tsx loader. */
  static start(module: string): Worker {
    const file = fileURLToPath(new URL(`./load/${module}.ts`, import.meta.url));
    const child = fork(file, [], { execArgv: ['--import', 'tsx', '--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Worker(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T>(method: string, args: unknown = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, method, args } satisfies Call);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** In the child: answers the parent's calls with these handlers. */
export function serve(handlers: Record<string, (args: any) => unknown>): void {
  process.on('message', async (message: Call) => {
    try {
      const handler = handlers[message.method];
      if (!handler) throw new Error(`no method ${message.method}`);
      const result = await handler(message.args);
      process.send!({ id: message.id, result: result ?? null } satisfies Answer);
    } catch (error) {
      process.send!({ id: message.id, error: (error as Error).stack ?? String(error) } satisfies Answer);
    }
  });
  process.on('disconnect', () => process.exit(0));
}
