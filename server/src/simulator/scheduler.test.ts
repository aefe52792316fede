import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Scheduler', () => {
  it('runs tasks in due order, ties in scheduling order', async () => {
    const scheduler = new Scheduler();
    const order: string[] = [];
    scheduler.after(30, () => order.push('c'));
    scheduler.after(10, () => order.push('a1'));
    scheduler.after(10, () => order.push('a2'));
    scheduler.after(20, () => order.push('b'));
    scheduler.after(0, () => order.push('now'));
    await sleep(60);
    expect(order).toEqual(['now', 'a1', 'a2', 'b', 'c']);
  });

  it('skips cancelled tasks', async () => {
    const scheduler = new Scheduler();
    const ran: number[] = [];
    const task = scheduler.after(5, () => ran.push(1));
    scheduler.after(10, () => ran.push(2));
    task.cancel();
    task.cancel();
    await sleep(30);
    expect(ran).toEqual([2]);
  });

  it('re-arms for an earlier task added after a later one', async () => {
    const scheduler = new Scheduler();
    const ran: number[] = [];
    scheduler.after(1000, () => ran.push(1000));
    scheduler.after(5, () => ran.push(5));
    await sleep(30);
    expect(ran).toEqual([5]);
    scheduler.stop();
  });

  it('keeps going when a task throws, reporting the error', async () => {
    const errors: unknown[] = [];
    const scheduler = new Scheduler(Date.now, (error) => errors.push(error));
    const ran: number[] = [];
    scheduler.after(1, () => {
      throw new Error('boom');
    });
    scheduler.after(2, () => ran.push(2));
    await sleep(30);
    expect(ran).toEqual([2]);
    expect(errors).toHaveLength(1);
  });

  it('runs tasks scheduled from within a task, and nothing after stop', async () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    scheduler.after(1, () => {
      ran.push('outer');
      scheduler.after(1, () => ran.push('inner'));
    });
    await sleep(30);
    expect(ran).toEqual(['outer', 'inner']);
    scheduler.after(5, () => ran.push('late'));
    scheduler.stop();
    scheduler.after(1, () => ran.push('after stop'));
    await sleep(30);
    expect(ran).toEqual(['outer', 'inner']);
  });

  it('handles many tasks with one timer', async () => {
    const scheduler = new Scheduler();
    const ran: number[] = [];
    for (let i = 0; i < 5000; i++) scheduler.after((i * 7919) % 40, () => ran.push(i));
    // All are due within 40 ms; a busy machine may run them later, but must run them all.
    for (const until = Date.now() + 5_000; ran.length < 5000 && Date.now() < until; ) await sleep(20);
    expect(ran).toHaveLength(5000);
    expect(scheduler.size).toBe(0);
  });
});
