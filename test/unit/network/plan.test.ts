import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { allocatePorts, probePort, type ProbePort } from '../../../src/engine/network/allocate.ts';
import type { HostNetwork } from '../../../src/engine/network/hostnet.ts';
import { HOOK_READY_FD, planNetwork, prepareNetwork } from '../../../src/engine/network/plan.ts';
import { parsePublish } from '../../../src/engine/network/ports.ts';

/** A probe where `busy` ports are taken and port 0 yields 40000, 40001, ... */
function fakeProbe(busy: readonly number[]): ProbePort {
  let next = 40000;
  return async (_ip, port) => (port === 0 ? next++ : busy.includes(port) ? undefined : port);
}

describe('allocatePorts', () => {
  it('keeps fixed ports, picks random ones, and free ones out of a range', async () => {
    const requests = [...parsePublish('8080:80'), ...parsePublish('127.0.0.1::81'), ...parsePublish('9000-9003:82')];
    assert.deepEqual(await allocatePorts(requests, fakeProbe([9000, 9001])), [
      { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 40000, containerPort: 81, protocol: 'tcp' },
      { hostIp: '', hostPort: 9002, containerPort: 82, protocol: 'tcp' },
    ]);
  });
  it('fails when a range is full', async () => {
    await assert.rejects(allocatePorts(parsePublish('9000-9001:80'), fakeProbe([9000, 9001])), /no free tcp port in 9000-9001 for container port 80/);
  });
  it('finds a real free port and sees a taken one (tcp, udp)', async () => {
    const tcp = await probePort('127.0.0.1', 0, 'tcp');
    assert.ok(tcp !== undefined && tcp > 0);
    const udp = await probePort('127.0.0.1', 0, 'udp');
    assert.ok(udp !== undefined && udp > 0);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      assert.equal(await probePort('127.0.0.1', port, 'tcp'), undefined);
    } finally {
      server.close();
    }
  });
});

const HOST: HostNetwork = {
  interface: 'eth0',
  gateway4: '192.0.2.1',
  address4: '192.0.2.2',
  resolvConf: 'nameserver 127.0.0.53\nsearch corp.example\n',
  hosts: '127.0.0.1 localhost\n',
};
const PASTA = { mode: 'pasta' as const, program: '/usr/bin/pasta' };

describe('planNetwork', () => {
  it('pasta: hook with ready fd, files with the host address and the forwarder', () => {
    const ports = [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];
    const plan = planNetwork({ hostname: 'abc', name: 'web', addHost: ['db:10.0.0.5'] }, PASTA, HOST, ports);
    assert.equal(plan.mode, 'pasta');
    assert.deepEqual(plan.helper.shareNet, false);
    assert.equal(plan.helper.hookReadyFd, HOOK_READY_FD);
    assert.deepEqual(plan.helper.hook?.slice(0, 8), ['/usr/bin/pasta', '--config-net', '--foreground', '--quiet', '--pid', `/proc/self/fd/${HOOK_READY_FD}`, '-t', '8080:80']);
    assert.ok(plan.helper.hook?.includes('--no-map-gw'));
    assert.equal(plan.files.resolvConf, 'search corp.example\nnameserver 169.254.1.1\n');
    assert.match(plan.files.hosts, /10\.0\.0\.5\tdb\n192\.0\.2\.2\tabc web\n$/);
    assert.equal(plan.files.hostname, 'abc\n');
  });
  it('pasta: host-gateway is the gateway and lets pasta map it to the host', () => {
    const plan = planNetwork({ hostname: 'abc', addHost: ['host.docker.internal:host-gateway'] }, PASTA, HOST, []);
    assert.match(plan.files.hosts, /192\.0\.2\.1\thost\.docker\.internal\n/);
    assert.ok(!plan.helper.hook?.includes('--no-map-gw'));
  });
  it('host: share-net, no hook, the host files (+add-host)', () => {
    const plan = planNetwork({ hostname: 'abc', addHost: ['x:10.1.1.1'] }, { mode: 'host' }, HOST, []);
    assert.deepEqual(plan.helper, { shareNet: true });
    assert.equal(plan.files.resolvConf, HOST.resolvConf);
    assert.equal(plan.files.hosts, '127.0.0.1 localhost\n10.1.1.1\tx\n');
  });
  it('none: no hook, the hostname on 127.0.0.1, docker default resolvers, -p refused', () => {
    const plan = planNetwork({ hostname: 'abc' }, { mode: 'none' }, HOST, []);
    assert.deepEqual(plan.helper, { shareNet: false });
    assert.match(plan.files.hosts, /127\.0\.0\.1\tabc\n$/);
    assert.match(plan.files.resolvConf, /nameserver 8\.8\.8\.8/);
    assert.throws(() => planNetwork({ hostname: 'abc' }, { mode: 'none' }, HOST, [{ hostIp: '', hostPort: 1, containerPort: 1, protocol: 'tcp' }]), /--publish has no effect with --network none/);
  });
  it('slirp4netns: its own address and DNS', () => {
    const plan = planNetwork({ hostname: 'abc' }, { mode: 'slirp4netns', program: '/usr/bin/slirp4netns' }, HOST, []);
    assert.match(plan.files.hosts, /10\.0\.2\.100\tabc\n$/);
    assert.equal(plan.files.resolvConf, 'search corp.example\nnameserver 10.0.2.3\n');
    assert.equal(plan.helper.hook?.[0], '/usr/bin/slirp4netns');
    assert.throws(() => planNetwork({ hostname: 'abc', addHost: ['h:host-gateway'] }, { mode: 'slirp4netns', program: 's' }, HOST, []), /no address for the host/);
  });
});

describe('prepareNetwork', () => {
  it('chooses, parses, allocates and plans', async () => {
    const plan = await prepareNetwork(
      { hostname: 'abc', publish: ['127.0.0.1::80'], publishAll: true, exposedPorts: { '80/tcp': {}, '53/udp': {} } },
      { tools: { pasta: '/usr/bin/pasta', tunUsable: true }, host: HOST, probe: fakeProbe([]) },
    );
    assert.deepEqual(plan.ports, [
      { hostIp: '127.0.0.1', hostPort: 40000, containerPort: 80, protocol: 'tcp' },
      { hostIp: '', hostPort: 40001, containerPort: 53, protocol: 'udp' },
    ]);
    assert.ok(plan.helper.hook?.includes('127.0.0.1/40000:80'));
    assert.ok(plan.helper.hook?.includes('40001:53'));
  });
  it('passes on the note of a fallback to none', async () => {
    const plan = await prepareNetwork({ hostname: 'abc' }, { tools: { tunUsable: true }, host: HOST });
    assert.equal(plan.mode, 'none');
    assert.match(plan.note ?? '', /install passt/);
  });
});
