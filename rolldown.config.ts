// `npm run build`: the service as one bundled, tree-shaken ES module (dist/main.js) with every
// library inside it: production runs dist/ with no node_modules at all. Code that only some
// commands or users need is in chunks loaded on first use (dist/chunks/): `sim`, `demo` and
// `plan`, and @kubernetes/client-node for kubeconfigs whose user runs an exec plugin or an
// auth-provider. dist/cli/version.js and dist/cli/write-build-info.js stay files of their own:
// the build runs the second, and both find dist/build-info.json as ../build-info.json.
import { defineConfig, type PreRenderedChunk } from 'rolldown';

/**
 * Chunk file names; a chunk holding @kubernetes/client-node is named for it, so that tests can
 * tell when it loads (test/helpers/forbid-client-node.mjs). rolldown's default splitting keeps
 * it, and the modules only it uses, in a chunk that nothing imports statically. (A manual group
 * for it either drew shared modules in — then the start-up path imported it — or, without its
 * dependencies, split it from them into two chunks importing each other, which fails to load.)
 * test/integration/kube-client.test.ts bundles its own entry with the same function.
 */
export function chunkFileNames(chunk: PreRenderedChunk, ext = 'js'): string {
  return chunk.moduleIds.some((id) => /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]/.test(id))
    ? `chunks/client-node-[hash].${ext}` : `chunks/[name]-[hash].${ext}`;
}

export const resolve = { extensionAlias: { '.js': ['.ts', '.js'] } };

export default defineConfig({
  input: {
    main: 'src/main.ts',
    'cli/version': 'src/cli/version.ts',
    'cli/write-build-info': 'src/cli/write-build-info.ts',
  },
  platform: 'node',
  resolve,
  output: {
    dir: 'dist',
    format: 'esm',
    cleanDir: true,
    entryFileNames: '[name].js',
    chunkFileNames: (chunk) => chunkFileNames(chunk),
    sourcemap: true,
    // Source text stays in memory for as long as the process runs: without comments and
    // whitespace, and in one-byte strings (a single non-ASCII character would make V8 keep
    // the whole chunk as UTF-16, twice the bytes). Names are kept: stack traces stay readable.
    charset: 'ascii',
    comments: false,
    minify: { compress: true, mangle: false, codegen: true },
  },
});
