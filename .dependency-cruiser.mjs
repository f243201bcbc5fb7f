/**
 * The layering of DESIGN.md section 3, seam 2, enforced (`npm run lint`):
 * contracts at the bottom, then time and codecs, then the transports,
 * stores, membership and algorithms (which never import each other), then
 * the kernel, then the simulator, then the compliance suites and
 * `index.ts`; the other packages build on core, the examples on top; and
 * no import cycle anywhere.
 */
const src = '^packages/core/src/';
/** Core's folders, lowest first; a folder may import only folders of lower layers (and its own). */
const layers = [
  ['contracts'],
  ['time', 'codec'],
  ['transport', 'store', 'membership', 'election', 'clocksync', 'multicast', 'raffle', 'security'],
  ['kernel'],
  ['sim'],
  ['testing'],
];
const folders = (names) => `${src}(${names.join('|')})/`;

const upward = layers.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.join('-')}`,
  comment: `${layer.join(', ')} may import only lower layers of core (DESIGN.md seam 2)`,
  severity: 'error',
  from: { path: folders(layer) },
  to: { path: [folders(layers.slice(i + 1).flat()), `${src}index\\.ts$`] },
}));

const siblings = layers
  .filter((layer) => layer.length > 1)
  .map((layer) => ({
    name: `no-sideways-among-${layer.join('-')}`,
    comment: `${layer.join(', ')} do not import each other: they meet only through the contracts`,
    severity: 'error',
    from: { path: `${src}(${layer.join('|')})/` },
    to: { path: folders(layer), pathNot: `${src}$1/` },
  }));

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: modules that can only be understood (and loaded) together',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    ...siblings,
    {
      name: 'core-stands-alone',
      comment: 'core imports no other package of the project',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '^packages/', pathNot: '^packages/core/' },
    },
    {
      name: 'parts-build-on-core-only',
      comment:
        'transports, stores and the load generator import core, never each other or the examples',
      severity: 'error',
      from: { path: '^packages/(transport-[^/]+|store-[^/]+|loadgen)/' },
      to: { path: '^packages/', pathNot: ['^packages/core/', '^packages/$1/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['/dist/', '/dist-bench/', 'node_modules'] },
    tsConfig: { fileName: 'tsconfig.test.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
