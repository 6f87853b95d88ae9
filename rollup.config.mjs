import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

// Node built-ins and runtime dependencies stay external: the bundle holds only saslkit's code.
const external = (id) => id.startsWith('node:') || id.startsWith('@mongodb-js/');

// Integrations, one entry point each (saslkit/nodemailer, saslkit/smtp-server, saslkit/xmpp.js
// from xmppjs.ts), so that users of one load neither the others nor their peers. Like the CLI,
// each uses the library through ../index.js, which stays external and becomes ./index.mjs or
// ./index.cjs: one copy of the library. The peer libraries are never imported (their types are
// described structurally).
const INTEGRATIONS = ['nodemailer', 'smtp-server', 'xmppjs'];
const libraryExternal = (id, importer) => external(id) || isLibraryIndex(id, importer);
const libraryAt = (file) => (id) => (isLibraryIndex(id) ? file : id);

// Credential stores, one entry point each (saslkit/stores/postgres from lib/stores/postgres.ts,
// built as dist/stores-postgres.*; saslkit/stores/ldap), over the library's index like the
// integrations. pg is never imported: the store takes the user's pool, described structurally.
const STORES = ['postgres', 'ldap'];

// The portable build (browsers, workers, Deno): lib/index.web.ts, with every lib/ module that has
// a `.web.ts` sibling replaced by it (lib/crypto/default.ts -> default.web.ts: WebCrypto instead of
// node:crypto), and no Node built-in allowed: reaching one fails the build.
const webSiblings = () => ({
  name: 'saslkit-web-siblings',
  resolveId(source, importer) {
    if (source.startsWith('node:')) throw new Error(`the portable build reached ${source} (imported by ${importer})`);
    if (importer === undefined || !/^\.{1,2}\//.test(source) || !source.endsWith('.js')) return null;
    const web = resolve(dirname(importer), source.replace(/\.js$/, '.web.ts'));
    return existsSync(web) ? web : null;
  },
});
const portableExternal = (id) => id.startsWith('@mongodb-js/');

export default [
  {
    input: 'lib/index.web.ts',
    external: portableExternal,
    plugins: [webSiblings(), typescript({ tsconfig: './tsconfig.build.json' })],
    output: { file: 'dist/index.browser.mjs', format: 'es', sourcemap: true },
  },
  {
    input: 'lib/index.web.ts',
    external: portableExternal,
    plugins: [dts({ tsconfig: './tsconfig.build.json' })],
    output: { file: 'dist/index.browser.d.mts', format: 'es' },
  },
  // saslkit/client for browsers, workers and Deno: the client side alone, self-contained. (On Node
  // the subpath resolves to the main build, which exports all of it: one copy of the library.)
  {
    input: 'lib/client.ts',
    external: portableExternal,
    plugins: [webSiblings(), typescript({ tsconfig: './tsconfig.build.json' })],
    output: { file: 'dist/client.browser.mjs', format: 'es', sourcemap: true },
  },
  {
    input: 'lib/client.ts',
    external: portableExternal,
    plugins: [dts({ tsconfig: './tsconfig.build.json' })],
    output: { file: 'dist/client.browser.d.mts', format: 'es' },
  },
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
  ...INTEGRATIONS.flatMap((name) => [
    {
      input: `lib/integrations/${name}.ts`,
      external: libraryExternal,
      plugins: [typescript({ tsconfig: './tsconfig.build.json' })],
      output: [
        { file: `dist/${name}.mjs`, format: 'es', sourcemap: true, paths: libraryAt('./index.mjs') },
        { file: `dist/${name}.cjs`, format: 'cjs', exports: 'named', sourcemap: true, paths: libraryAt('./index.cjs') },
      ],
    },
    {
      input: `lib/integrations/${name}.ts`,
      external: libraryExternal,
      plugins: [dts({ tsconfig: './tsconfig.build.json' })],
      output: [
        { file: `dist/${name}.d.mts`, format: 'es', paths: libraryAt('./index.mjs') },
        { file: `dist/${name}.d.cts`, format: 'es', paths: libraryAt('./index.cjs') },
      ],
    },
  ]),
  ...STORES.flatMap((name) => [
    {
      input: `lib/stores/${name}.ts`,
      external: libraryExternal,
      plugins: [typescript({ tsconfig: './tsconfig.build.json' })],
      output: [
        { file: `dist/stores-${name}.mjs`, format: 'es', sourcemap: true, paths: libraryAt('./index.mjs') },
        {
          file: `dist/stores-${name}.cjs`,
          format: 'cjs',
          exports: 'named',
          sourcemap: true,
          paths: libraryAt('./index.cjs'),
        },
      ],
    },
    {
      input: `lib/stores/${name}.ts`,
      external: libraryExternal,
      plugins: [dts({ tsconfig: './tsconfig.build.json' })],
      output: [
        { file: `dist/stores-${name}.d.mts`, format: 'es', paths: libraryAt('./index.mjs') },
        { file: `dist/stores-${name}.d.cts`, format: 'es', paths: libraryAt('./index.cjs') },
      ],
    },
  ]),
];

function isLibraryIndex(id, importer) {
  if (/[\\/]lib[\\/]index\.(ts|js)$/.test(id)) return true;
  return (
    id === '../index.js' && (importer === undefined || /[\\/]lib[\\/](cli|integrations|stores)[\\/]/.test(importer))
  );
}
