import { describe, expect, it } from 'vitest';
import { freePort, ServerExitedAtStartError, startWithFreshPorts } from '../src/index.ts';

describe('startWithFreshPorts', () => {
  it('starts again after a lost port, up to the attempts, and throws anything else at once', async () => {
    let calls = 0;
    const lost_once = async () => {
      calls += 1;
      if (calls === 1) throw new ServerExitedAtStartError('taken');
      return await freePort();
    };
    expect(await startWithFreshPorts(lost_once)).toBeGreaterThan(0);
    expect(calls).toBe(2);

    calls = 0;
    const always_lost = async () => {
      calls += 1;
      throw new ServerExitedAtStartError('taken');
    };
    await expect(startWithFreshPorts(always_lost, 3)).rejects.toBeInstanceOf(ServerExitedAtStartError);
    expect(calls).toBe(3);

    calls = 0;
    const broken = async () => {
      calls += 1;
      throw new Error('bad configuration');
    };
    await expect(startWithFreshPorts(broken)).rejects.toThrow('bad configuration');
    expect(calls).toBe(1);
  });
});
