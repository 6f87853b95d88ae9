import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

// Node built-ins and runtime dependencies stay external: the bundle holds only saslkit's code.
const external = (id) => id.startsWith('node:') || id.startsWith('@mongodb-js/');

export default [
  {
    input: 'lib/index.ts',
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json' })],
    output: [
      { file: 'dist/index.mjs', format: 'es', sourcemap: true },
      { file: 'dist/index.cjs', format: 'cjs', exports: 'named', sourcemap: true },
    ],
  },
  {
    input: 'lib/index.ts',
    external,
    plugins: [dts({ tsconfig: './tsconfig.build.json' })],
    output: [
      { file: 'dist/index.d.mts', format: 'es' },
      { file: 'dist/index.d.cts', format: 'es' },
    ],
  },
  {
    // The saslkit command-line tool. It uses the library through ../index.js, which stays
    // external and becomes ./index.cjs: one copy of the library, not two.
    input: 'lib/cli/main.ts',
    external: (id, importer) => external(id) || isLibraryIndex(id, importer),
    plugins: [typescript({ tsconfig: './tsconfig.build.json' })],
    output: {
      file: 'dist/cli.cjs',
      format: 'cjs',
      banner: '#!/usr/bin/env node',
      sourcemap: true,
      paths: (id) => (isLibraryIndex(id) ? './index.cjs' : id),
    },
  },
];

function isLibraryIndex(id, importer) {
  if (/[\\/]lib[\\/]index\.(ts|js)$/.test(id)) return true;
  return id === '../index.js' && (importer === undefined || /[\\/]lib[\\/]cli[\\/]/.test(importer));
}
