import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { checkArchitectures } from '../../../lambdas/sdk/binary/architectures';
import { BinaryFormatError } from '../../../lambdas/sdk/binary/errors';
import { inspectBinary, inspectFile } from '../../../lambdas/sdk/binary/inspect';
import { buildBsdArchive, buildElf, buildFat, buildGnuArchive, buildMachO, CPU, type ElfSymbol } from './builders';

const elfSymbols: ElfSymbol[] = [
  { name: 'crashlog_init', bind: 1, shndx: 1 },
  { name: 'crashlog_buffer', bind: 1, type: 1, shndx: 1 },
  { name: 'local_helper', bind: 0, shndx: 1 },
  { name: 'weak_hook', bind: 2, shndx: 1 },
  { name: 'printf', bind: 1, shndx: 0 },
  { name: 'hidden_internal', bind: 1, shndx: 1, visibility: 2 },
];

describe('ELF', () => {
  it.each([
    { is64: true, le: true, machine: 62, arch: 'x86_64' },
    { is64: true, le: false, machine: 183, arch: 'arm64' },
    { is64: false, le: true, machine: 3, arch: 'x86' },
    { is64: false, le: false, machine: 40, arch: 'arm' },
  ])(
    'reads $arch from a $is64-bit little-endian=$le ELF and its defined global symbols',
    async ({ is64, le, machine, arch }) => {
      const info = await inspectBinary(buildElf({ is64, le, machine, symbols: elfSymbols }));
      expect(info).toMatchObject({ format: 'elf', architectures: [arch] });
      // A relocatable object: hidden globals still clash at static link time; weak, local and undefined never do.
      expect(info!.symbols).toEqual(['crashlog_buffer', 'crashlog_init', 'hidden_internal']);
    },
  );

  it('reads .dynsym of a shared object and leaves out hidden symbols it does not export', async () => {
    const info = await inspectBinary(
      buildElf({ is64: true, le: true, machine: 183, type: 3, dynamic: true, symbols: elfSymbols }),
    );
    expect(info!.symbols).toEqual(['crashlog_buffer', 'crashlog_init']);
  });

  it('reports a truncated ELF instead of reading past its end', async () => {
    const whole = buildElf({ is64: true, le: true, machine: 62, symbols: elfSymbols });
    await expect(inspectBinary(whole.subarray(0, whole.length - 20))).rejects.toThrow(BinaryFormatError);
    await expect(inspectBinary(whole.subarray(0, whole.length - 20))).rejects.toThrow(/truncated or corrupt/);
  });
});

describe('Mach-O', () => {
  const symbols = [
    { name: '_crashlog_init', type: 0x0f },
    { name: '_OBJC_CLASS_$_CLLogger', type: 0x0f },
    { name: '_weak_default', type: 0x0f, desc: 0x0080 },
    { name: '_local_helper', type: 0x0e },
    { name: '_malloc', type: 0x01 },
    { name: 'debug.c', type: 0x64 },
  ];

  it('reads arm64 and external defined symbols from a thin 64-bit little-endian file', async () => {
    const info = await inspectBinary(buildMachO({ is64: true, le: true, cputype: CPU.arm64, symbols }));
    expect(info).toMatchObject({
      format: 'macho',
      architectures: ['arm64'],
      symbols: ['_OBJC_CLASS_$_CLLogger', '_crashlog_init'],
    });
  });

  it('reads a thin 32-bit big-endian file and the ARM variant from the subtype', async () => {
    const info = await inspectBinary(buildMachO({ is64: false, le: false, cputype: CPU.arm, cpusubtype: 11, symbols }));
    expect(info!.architectures).toEqual(['armv7s']);
    expect(info!.symbols).toEqual(['_OBJC_CLASS_$_CLLogger', '_crashlog_init']);
  });

  it.each([false, true])('reads every slice of a universal binary (64-bit slice table: %s)', async (is64) => {
    const fat = buildFat(
      [
        {
          cputype: CPU.arm64,
          data: buildMachO({ is64: true, le: true, cputype: CPU.arm64, symbols: [{ name: '_maps_draw', type: 0x0f }] }),
        },
        {
          cputype: CPU.x86_64,
          data: buildMachO({ is64: true, le: true, cputype: CPU.x86_64, symbols: [{ name: '_maps_sim', type: 0x0f }] }),
        },
        {
          cputype: CPU.arm,
          cpusubtype: 9,
          data: buildMachO({ is64: false, le: true, cputype: CPU.arm, cpusubtype: 9, symbols: [] }),
        },
      ],
      is64,
    );
    const info = await inspectBinary(fat);
    expect(info).toMatchObject({
      format: 'fat',
      architectures: ['arm64', 'armv7', 'x86_64'],
      symbols: ['_maps_draw', '_maps_sim'],
    });
    expect(info!.parts.map((p) => p.name)).toEqual(['arm64', 'x86_64', 'armv7']);
  });

  it('does not mistake a Java class file for a universal binary', async () => {
    const classFile = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x41, 0, 0, 0, 0]);
    expect(await inspectBinary(classFile)).toBeUndefined();
  });
});

describe('static archives', () => {
  it('reads ELF members of a GNU archive, long names included', async () => {
    const archive = buildGnuArchive([
      {
        name: 'crashlog.o',
        data: buildElf({ is64: true, le: true, machine: 183, symbols: [{ name: 'crashlog_init', bind: 1, shndx: 1 }] }),
      },
      {
        name: 'crashlog_transport_layer.o',
        data: buildElf({ is64: true, le: true, machine: 183, symbols: [{ name: 'crashlog_send', bind: 1, shndx: 1 }] }),
      },
      { name: 'notes.txt', data: Buffer.from('not an object file') },
    ]);
    const info = await inspectBinary(archive);
    expect(info).toMatchObject({
      format: 'archive',
      architectures: ['arm64'],
      symbols: ['crashlog_init', 'crashlog_send'],
    });
    expect(info!.parts.map((p) => p.name)).toEqual(['crashlog.o', 'crashlog_transport_layer.o']);
  });

  it('reads Mach-O members of a BSD archive inside a universal binary', async () => {
    const member = (cputype: number) =>
      buildMachO({ is64: true, le: true, cputype, symbols: [{ name: '_crashlog_init', type: 0x0f }] });
    const fat = buildFat([
      { cputype: CPU.arm64, data: buildBsdArchive([{ name: 'crashlog.o', data: member(CPU.arm64) }]) },
      { cputype: CPU.x86_64, data: buildBsdArchive([{ name: 'crashlog.o', data: member(CPU.x86_64) }]) },
    ]);
    const info = await inspectBinary(fat);
    expect(info).toMatchObject({ format: 'fat', architectures: ['arm64', 'x86_64'], symbols: ['_crashlog_init'] });
  });

  it('skips files that are not binaries', async () => {
    expect(await inspectBinary(Buffer.from('#import <Foundation/Foundation.h>\n'))).toBeUndefined();
  });
});

describe('a binary built by the C compiler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-binary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let compiler: string | undefined;
  for (const cc of ['cc', 'gcc', 'clang']) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      compiler = cc;
      break;
    } catch {
      // try the next one
    }
  }

  const skipped =
    compiler === undefined
      ? ' (skipped: no C compiler, cc, gcc or clang, on this machine; hand-built binaries still cover ELF)'
      : '';
  (compiler === undefined ? it.skip : it)(
    `reads the host architecture and exported functions of a compiled object and shared library${skipped}`,
    async () => {
      const source = join(dir, 'crashlog.c');
      writeFileSync(
        source,
        'int crashlog_level = 3;\nint crashlog_init(void) { return crashlog_level; }\n' +
          'static int crashlog_local(void) { return 1; }\n__attribute__((weak)) int crashlog_hook(void) { return crashlog_local(); }\n' +
          '__attribute__((visibility("hidden"))) int crashlog_private(void) { return 2; }\n',
      );
      execFileSync(compiler!, ['-c', '-fPIC', '-o', join(dir, 'crashlog.o'), source]);
      execFileSync(compiler!, ['-shared', '-o', join(dir, 'libcrashlog.so'), join(dir, 'crashlog.o')]);
      const hostArch = { x64: 'x86_64', arm64: 'arm64', ia32: 'x86', arm: 'arm' }[process.arch as string];

      const object = await inspectFile(join(dir, 'crashlog.o'));
      expect(object?.format).toBe('elf');
      if (hostArch !== undefined) expect(object!.architectures).toEqual([hostArch]);
      expect(object!.symbols).toEqual(expect.arrayContaining(['crashlog_init', 'crashlog_level', 'crashlog_private']));
      expect(object!.symbols).not.toContain('crashlog_local');
      expect(object!.symbols).not.toContain('crashlog_hook');

      const shared = await inspectFile(join(dir, 'libcrashlog.so'));
      expect(shared!.symbols).toEqual(expect.arrayContaining(['crashlog_init', 'crashlog_level']));
      expect(shared!.symbols).not.toContain('crashlog_private');
    },
  );
});

describe('checkArchitectures', () => {
  it('passes when every declared architecture is present, whatever the spelling', () => {
    expect(checkArchitectures(['arm64', 'x86_64'], ['aarch64', 'amd64'])).toMatchObject({
      ok: true,
      missing: [],
      extra: [],
    });
    expect(checkArchitectures(['arm'], ['armv7', 'armv7s'])).toMatchObject({ ok: true });
  });

  it('names the missing architecture, what was found and how to fix it', () => {
    const check = checkArchitectures(['arm64', 'armv7'], ['arm64', 'x86_64']);
    expect(check).toMatchObject({ ok: false, missing: ['armv7'], extra: ['x86_64'] });
    expect(check.message).toContain(
      'The binaries lack armv7, declared in platform.architectures (found: arm64, x86_64)',
    );
    expect(check.message).toContain('rebuild the binaries for armv7');
    expect(check.message).toContain('The binaries also hold x86_64, not declared');
  });
});
