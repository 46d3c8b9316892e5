// The stderr markers that tell sudo's prompts and errors from the command's own output, fed in
// every possible chunking (no sshd needed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planCommand, PreStartStderr, type StderrEvent } from '../../src/ssh/become.js';

const kinds = (evs: StderrEvent[]) => evs.map((e) => e.kind);

describe('become command plan and stderr markers', () => {
  it('plain command: the process-group marker, then the command text', () => {
    const p = planCommand('echo hi', false);
    assert.match(p.text, /^printf '<lvsctl-pg-[0-9a-f]{18}:%s>' "\$\$" >&2\necho hi$/);
    assert.equal(p.sudo, false);
  });
  it('sudo without password uses -n; with password -S and a random prompt; the command is one quoted argument', () => {
    assert.match(planCommand(`echo 'x'`, { password: false }).text, /\nsudo -n -- sh -c 'printf %s/);
    const p = planCommand('id', { password: true });
    assert.match(p.text, /\nsudo -S -p '<lvsctl-sudo-[0-9a-f]+>' -- sh -c /);
    assert.notEqual(planCommand('id', { password: true }).prompt, p.prompt);
  });
  it('finds pgid, prompt and start split across any chunk boundary; keeps what follows start', () => {
    const p = planCommand('id', { password: true });
    const stream = Buffer.from(`junk<lvsctl-pg-${p.id}:4242>lecture${p.prompt}${p.start}after`);
    for (let cut = 1; cut < stream.length; cut++) {
      // as the connection does: feed until 'start', then the rest of stderr is the command's
      const pre = new PreStartStderr(p);
      const seen: string[] = [];
      let out = '';
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
        if (seen.includes('start')) {
          out += chunk.toString();
          continue;
        }
        for (const ev of pre.feed(chunk)) {
          seen.push(ev.kind);
          if (ev.kind === 'start') out += ev.rest.toString();
        }
      }
      assert.deepEqual(seen, ['pgid', 'prompt', 'start'], `cut at ${cut}`);
      assert.equal(pre.pgid, 4242);
      assert.equal(out, 'after', `cut at ${cut}`);
      assert.equal(pre.text(), 'junklecture');
    }
  });
  it("counts a second prompt (password refused) and keeps sudo's words for the error", () => {
    const p = planCommand('id', { password: true });
    const pre = new PreStartStderr(p);
    assert.deepEqual(kinds(pre.feed(Buffer.from(`<lvsctl-pg-${p.id}:7>${p.prompt}Sorry, try again.\n${p.prompt}`))), [
      'pgid',
      'prompt',
      'prompt',
    ]);
    assert.equal(pre.promptCount, 2);
    assert.equal(pre.text(), 'Sorry, try again.\n');
  });
  it('without sudo, the command starts right after the pgid marker', () => {
    const p = planCommand('id', false);
    const pre = new PreStartStderr(p);
    const evs = pre.feed(Buffer.from(`<lvsctl-pg-${p.id}:9>err`));
    assert.deepEqual(kinds(evs), ['pgid', 'start']);
    assert.equal((evs[1] as { rest: Buffer }).rest.toString(), 'err');
  });
});
