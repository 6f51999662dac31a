import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChanges, exposedPorts } from '../../../src/engine/images/changes.ts';
import type { RunConfig } from '../../../src/engine/images/config.ts';
import { TscError } from '../../../src/engine/errors.ts';

describe('--change', () => {
  const cases: [string, string[], RunConfig, RunConfig][] = [
    ['CMD exec form', ['CMD ["/bin/sh", "-c", "echo hi"]'], {}, { Cmd: ['/bin/sh', '-c', 'echo hi'] }],
    ['CMD shell form uses the shell', ['CMD echo $HOME'], {}, { Cmd: ['/bin/sh', '-c', 'echo $HOME'] }],
    ['CMD shell form uses the image shell', ['CMD dir'], { Shell: ['cmd', '/S', '/C'] }, { Shell: ['cmd', '/S', '/C'], Cmd: ['cmd', '/S', '/C', 'dir'] }],
    ['ENTRYPOINT clears an inherited CMD', ['ENTRYPOINT ["/app"]'], { Cmd: ['sh'] }, { Entrypoint: ['/app'] }],
    ['ENTRYPOINT keeps a CMD set before it', ['CMD ["x"]', 'ENTRYPOINT ["/app"]'], {}, { Cmd: ['x'], Entrypoint: ['/app'] }],
    ['ENV pairs, replacing and expanding', ['ENV A=1 B="two words"', 'ENV A=${A}0 C=$B'], { Env: ['A=0', 'PATH=/bin'] }, { Env: ['PATH=/bin', 'B=two words', 'A=10', 'C=two words'] }],
    ['ENV legacy form', ['ENV NAME the value'], {}, { Env: ['NAME=the value'] }],
    ['LABEL merges', ['LABEL a=1 "b c"=2'], { Labels: { a: '0', z: '9' } }, { Labels: { a: '1', z: '9', 'b c': '2' } }],
    ['EXPOSE ports and ranges', ['EXPOSE 80 53/udp 8000-8001/tcp'], {}, { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} } }],
    ['VOLUME forms', ['VOLUME /a /b', 'VOLUME ["/c"]'], {}, { Volumes: { '/a': {}, '/b': {}, '/c': {} } }],
    ['WORKDIR builds on the previous', ['WORKDIR /srv', 'WORKDIR app', 'WORKDIR ../data'], {}, { WorkingDir: '/srv/data' }],
    ['WORKDIR expands variables', ['ENV D=/opt', 'WORKDIR $D/x'], {}, { Env: ['D=/opt'], WorkingDir: '/opt/x' }],
    ['USER', ['USER 1000:1000'], {}, { User: '1000:1000' }],
    ['STOPSIGNAL', ['STOPSIGNAL SIGINT'], {}, { StopSignal: 'SIGINT' }],
    ['ONBUILD keeps the trigger text', ['ONBUILD RUN make'], { OnBuild: ['COPY . /'] }, { OnBuild: ['COPY . /', 'RUN make'] }],
    ['HEALTHCHECK', ['HEALTHCHECK --interval=5s --retries=2 CMD curl -f localhost'], {}, { Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 5_000_000_000, Retries: 2 } }],
    ['HEALTHCHECK NONE', ['HEALTHCHECK NONE'], {}, { Healthcheck: { Test: ['NONE'] } }],
    ['lower-case keywords', ['cmd ["a"]'], {}, { Cmd: ['a'] }],
  ];
  for (const [name, changes, base, expected] of cases) {
    it(name, () => {
      const before = structuredClone(base);
      assert.deepEqual(applyChanges(base, changes), expected);
      assert.deepEqual(base, before, 'the base config is not modified');
    });
  }

  const errors: [string, string, RegExp][] = [
    ['RUN is refused', 'RUN make', /^invalid --change "RUN make": RUN cannot be applied to an image$/],
    ['FROM is refused', 'FROM x', /FROM cannot be applied/],
    ['an unknown instruction', 'CMDX a', /unknown instruction: CMDX \(did you mean CMD\?\)/],
    ['an empty change', '  ', /invalid --change " {2}": it is empty/],
    ['two instructions', 'CMD a\nENV b=c', /holds 2 instructions, not one/],
    ['a bad port', 'EXPOSE 99999', /invalid port "99999"/],
    ['a bad protocol', 'EXPOSE 80/icmp', /invalid port "80\/icmp"/],
    ['a bad signal', 'STOPSIGNAL "kill me"', /is not a signal/],
    ['ENV without a value', 'ENV', /ENV requires at least one argument/],
    ['USER without a user', 'USER', /USER requires exactly one argument/],
  ];
  for (const [name, change, message] of errors) {
    it(`refuses ${name}`, () => {
      assert.throws(() => applyChanges({}, [change]), (e: unknown) => e instanceof TscError && e.code === 'invalid-argument' && message.test(e.message));
    });
  }

  it('reads ports as docker does', () => {
    assert.deepEqual(exposedPorts('443'), ['443/tcp']);
    assert.deepEqual(exposedPorts('5000-5002/UDP'), ['5000/udp', '5001/udp', '5002/udp']);
    assert.throws(() => exposedPorts('0'));
    assert.throws(() => exposedPorts('9-8'));
  });
});
