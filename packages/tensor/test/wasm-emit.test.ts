import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { relaxedSimd } from '../src/kernels/relaxed.js';
import { denseBinary } from '../src/kernels/wasm/dense.js';
import { gemmBinary } from '../src/kernels/wasm/gemm.js';
import { outerBinary } from '../src/kernels/wasm/outer.js';

// SHA-256 of the kernel binaries as they were assembled from hand-written and generated
// WebAssembly text (wabt 1.0.39, the shared-memory build, at 8cc5310) before the kernels were
// written with the run-time encoder: the module, and each function's code (unexported ones by
// index). The encoder must give the same bytes, so the kernels are the same instructions: a
// change to a kernel is a change to this table, made on purpose. (gemm's rows16 and panel16
// were rewritten since, and its finite folded into panel16; dense's maxpool2 picks a window's
// winner with one comparison and an andnot where it took three and two logic operations;
// gemm's tn_cols and tn_out were added since: their hashes are the encoder's; dense's
// conv_grad takes its taps, a last one or two of them one at a time, where it took whole panels.)
const RECORDED = {
  dense: {
    module: '338414f9a673e33c4a1b076b2d37a2c28ff0b5b7c0d06b65dbf1398037ee159b',
    functions: {
      pack_a: '8f2dd6f74b0022c0f5d56638c645caf172b52be2cedfaedea97326d18468df4a',
      pack_b: 'b342c6ffba5b61035390d6de4b151210ca2958411f8b124d64c14d0706c03d47',
      tiles: '9e8cbcf790039a7d8ee0fc45c3f8405a7a7cbace2030550114ef376c74aff38b',
      conv_rows: '9c73ee5b51776b89c5b61faa2c7b5c2411b8ab679f2ff13d756fa7019073ffc6',
      conv_grad: '998181e9acf8cc01d154dac49fd4f24a8d2f4c6f249fdb75cb3b78a5dda4de47',
      conv_scatter: 'd7f6519b15595eee4fb5220e85fddb21049b7389bb3313100a66a0118a05c55e',
      maxpool2: '75c6194b9ba9f413431efb29172f5d0761f557be627ba19c45f8945cec95ef92',
      pad: '982b4327032c5e666d2ca7aae1a83813ba8eac115781ad95e6983f73ceb516a1',
      crop: '21120fa23f60435815474e8d8af935d97d1ad2663bf28b7707b59debed79efa1',
      compact: 'e58474b2127a41c4482e0c462f1885caa78a7ecca7b7e952268cb882079bdbce',
    },
  },
  'dense+relaxed': {
    module: '2e19250bb5f44581766d50545eb8e6cc61dd4299505438a9b2120a319bc61daf',
    functions: {
      pack_a: '8f2dd6f74b0022c0f5d56638c645caf172b52be2cedfaedea97326d18468df4a',
      pack_b: 'b342c6ffba5b61035390d6de4b151210ca2958411f8b124d64c14d0706c03d47',
      tiles: 'daa2abd247a8e03eba33582762c1db48da80dc251df0b24734ee13ddb9b213c8',
      conv_rows: '903f9762e145ff30a6d8ad7647540724c0451667f5148d3715fc280de50a93d0',
      conv_grad: 'ef2105b6a634eec81d36732de99a7e052a68f09aacbc415f7b7cfed3fc9f0434',
      conv_scatter: 'd973d892532ec6357a79d9a565f9c1d28c228f94989ef9b2a7912960ccc795b8',
      maxpool2: '75c6194b9ba9f413431efb29172f5d0761f557be627ba19c45f8945cec95ef92',
      pad: '982b4327032c5e666d2ca7aae1a83813ba8eac115781ad95e6983f73ceb516a1',
      crop: '21120fa23f60435815474e8d8af935d97d1ad2663bf28b7707b59debed79efa1',
      compact: 'e58474b2127a41c4482e0c462f1885caa78a7ecca7b7e952268cb882079bdbce',
    },
  },
  gemm: {
    module: '81d3d243a27571ac4e7ec51c3699ae1dedbdeb37a12baeeb02584d7927e4d3c5',
    functions: {
      nt8: '86bd3a51feccf244c89e895d0821b8afa4f9a2d93ada0b0ce94b20026e17524d',
      tn16: '91709127c4a5b216a57106ffb3196dbfc4b01cf2f6fcac14121308bb51861aae',
      ab16: '7deea01452d7e78a38aaea429e09b182172f78d52a07f251ed06ace201c8beb6',
      rows16: '92f6c819fcd93eb17dada9d47c8c591d0b9a2e28608ebd70bcb2a0a71e8759ec',
      panel16: '51713f9009a9fa1517531a13f560e37cf342ec48116d745eb8482d667647648b',
      add: '3ad3be58809c0d52381018b3bb8ef9bf191a9dcd86184064437c19e31f6be1ba',
      tn_cols: '572dec5985c8ca4f4ce3bf4963e4d7df384df9dbb2a2e849ed921f4260d2679b',
      tn_out: '8ad26065b743e8f8c02ba871adbe27bf3dfecabbe525e491bbf2961160634088',
    },
  },
  'gemm+relaxed': {
    module: '64d33a58bc947482856a68e22c2bf9e4aeb00e6c3cd0291ae95035ad02231130',
    functions: {
      nt8: '5f075d5dda00cbe08fc28d5fe546d913d7fa36334a2d5b9fa17044006b53c7e6',
      tn16: '8e082acba078c266e9642a198bb9a5e94ee4ae6d7ed36df0186b93e54ccdb032',
      ab16: '491e8dc083299a8b0123a38f7b03a3e602248ea59f9779d463a34ad7969ac74a',
      rows16: '2683374ee2a017559ea5881d1dbace55f17b534e04bda0accce8ea6fcdd14ae2',
      panel16: '51713f9009a9fa1517531a13f560e37cf342ec48116d745eb8482d667647648b',
      add: '3ad3be58809c0d52381018b3bb8ef9bf191a9dcd86184064437c19e31f6be1ba',
      tn_cols: 'c9681261bbfec93321cd6540bc2a34fe59a410a3fd8975f4c0f46de420630b5d',
      tn_out: '8ad26065b743e8f8c02ba871adbe27bf3dfecabbe525e491bbf2961160634088',
    },
  },
  outer: {
    module: 'e73a38d5b08bcb4f7d61d691ee770a7119c7bf5f26729983207374c79d9b99a4',
    functions: {
      outer: '18789fd3a805b47b7bbce4b24f3deb27eb1d3c22610966db05dba207c3521ec7',
    },
  },
} as const;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function leb(bytes: Uint8Array, at: { i: number }): number {
  let n = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at.i++]!;
    n |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return n >>> 0;
}

/** A module's sections: each function's code by export name (or #index), and the memory import's limits flag. */
function sections(bytes: Uint8Array): { functions: Record<string, string>; memoryFlag: number } {
  const at = { i: 8 };
  const names: string[] = [];
  const functions: Record<string, string> = {};
  let memoryFlag = -1;
  while (at.i < bytes.length) {
    const id = bytes[at.i++]!;
    const end = leb(bytes, at) + at.i;
    const count = id === 2 || id === 7 || id === 10 ? leb(bytes, at) : 0;
    for (let n = 0; n < count; n++) {
      if (id === 10) {
        const size = leb(bytes, at);
        functions[names[n] ?? `#${n}`] = sha256(bytes.subarray(at.i, at.i + size));
        at.i += size;
        continue;
      }
      const text = () => {
        const size = leb(bytes, at);
        at.i += size;
        return new TextDecoder().decode(bytes.subarray(at.i - size, at.i));
      };
      if (id === 2) {
        expect([text(), text(), bytes[at.i++]]).toEqual(['env', 'memory', 2]);
        memoryFlag = bytes[at.i++]!;
        leb(bytes, at);
        leb(bytes, at);
      } else {
        const name = text();
        at.i++;
        names[leb(bytes, at)] = name;
      }
    }
    at.i = end;
  }
  return { functions, memoryFlag };
}

const builds: [string, (shared: boolean) => Uint8Array<ArrayBuffer>][] = [
  ['dense', (shared) => denseBinary(shared, false)],
  ['dense+relaxed', (shared) => denseBinary(shared, true)],
  ['gemm', (shared) => gemmBinary(shared, false)],
  ['gemm+relaxed', (shared) => gemmBinary(shared, true)],
  ['outer', (shared) => outerBinary(shared)],
];

describe('the kernel modules written by the WebAssembly encoder', () => {
  it.each(builds)('%s: every function is the recorded code, byte for byte', (name, build) => {
    const recorded = RECORDED[name as keyof typeof RECORDED];
    const bytes = build(true);
    expect(sections(bytes).functions).toEqual(recorded.functions);
    expect(sha256(bytes)).toBe(recorded.module);
  });

  it.each(builds)(
    '%s: imports a shared memory or a plain one, nothing else differing',
    (_, build) => {
      const shared = build(true);
      const plain = build(false);
      expect(sections(shared).memoryFlag).toBe(3);
      expect(sections(plain).memoryFlag).toBe(1);
      const differ = [...shared.keys()].filter((i) => shared[i] !== plain[i]);
      expect(differ).toHaveLength(1);
    },
  );

  it.each(builds)('%s: is a valid module where this engine has its features', (name, build) => {
    const relaxed = name.endsWith('+relaxed');
    expect(WebAssembly.validate(build(false))).toBe(relaxed ? relaxedSimd() : true);
  });

  it('finds relaxed SIMD where the engine has it (Node 22 and later; Node 20 behind a flag)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const flagged = process.execArgv.includes('--experimental-wasm-relaxed-simd');
    expect(relaxedSimd()).toBe(major >= 22 || flagged);
  });

  it('relaxed SIMD turns every running sum into one multiply-add and nothing else', () => {
    for (const [plain, relaxed] of [
      [denseBinary(true, false), denseBinary(true, true)],
      [gemmBinary(true, false), gemmBinary(true, true)],
    ] as const) {
      const a = sections(plain).functions;
      const b = sections(relaxed).functions;
      // Functions without sums (packing, pooling, copies) are the same code in both builds.
      const same = Object.keys(a).filter((f) => a[f] === b[f]);
      expect(same.length).toBeGreaterThan(0);
      expect(same.length).toBeLessThan(Object.keys(a).length);
    }
  });
});
