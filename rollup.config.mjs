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
];
