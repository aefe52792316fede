import { describe, expect, it } from 'vitest';
import { ATTACH_DIRECT_SINK, type Offered } from './direct-delivery.js';
import { LatestChannel } from './latest-channel.js';

const settled = async <T>(promise: Promise<T>) => {
  let state: { value: T } | null = null;
  void promise.then((value) => (state = { value }));
  await new Promise((resolve) => setImmediate(resolve));
  return state as { value: T } | null;
};

describe('LatestChannel with a direct sink', () => {
  it('offers values while a pull waits; holds the newest while busy; answers the pull when declined', async () => {
    const offered: number[] = [];
    let answer: Offered = 'sent';
    const channel = new LatestChannel<number>();
    const resume = channel[ATTACH_DIRECT_SINK]({
      offer: (value) => {
        offered.push(value);
        return answer;
      },
    });

    // No pull waiting: nothing is offered, the value waits in the slot for the pull.
    channel.push(1, 1);
    expect(offered).toEqual([]);
    expect(await channel.next()).toEqual({ done: false, value: 1 });

    // A pull waits: values go to the sink, the pull keeps waiting.
    const pull = channel.next();
    channel.push(2, 2);
    channel.push(3, 3);
    expect(offered).toEqual([2, 3]);
    expect(await settled(pull)).toBeNull();

    // Busy: the newest value is kept (older ones replaced), offered again on resume.
    answer = 'busy';
    channel.push(4, 4);
    channel.push(5, 5);
    expect(offered).toEqual([2, 3, 4, 5]);
    answer = 'declined';
    resume();
    expect(offered).toEqual([2, 3, 4, 5, 5]);
    expect(await pull).toEqual({ done: false, value: 5 });

    // Nothing pending: resume offers nothing; return() ends a waiting pull without an offer.
    const last = channel.next();
    resume();
    expect(offered).toHaveLength(5);
    await channel.return();
    expect(await last).toEqual({ done: true, value: undefined });
    channel.push(6, 6);
    expect(offered).toHaveLength(5);
  });

  it('opens on the first pull only, and closes only what it opened', async () => {
    const events: string[] = [];
    const unopened = new LatestChannel<number>(
      () => events.push('close a'),
      () => events.push('open a'),
    );
    await unopened.return();
    expect(events).toEqual([]);
    const opened = new LatestChannel<number>(
      () => events.push('close b'),
      () => events.push('open b'),
    );
    const pull = opened.next();
    await opened.return();
    expect(await pull).toEqual({ done: true, value: undefined });
    expect(events).toEqual(['open b', 'close b']);
  });
});
