// Lint: type-aware rules, and library boundaries so that each dependency lives in one folder
// (DESIGN.md §1): swapping a library is then a one-folder change.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Which folder of src/ may import each library. */
const owners = {
  yargs: 'src/cli',
  undici: 'src/upstream',
  pino: 'src/observe',
  'prom-client': 'src/observe',
  yaml: 'src/kubeconfig',
  'node-forge': '(none yet: test/ and examples/ only)',
};

const restrictedFor = (folder) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: Object.entries(owners)
        .filter(([, owner]) => owner !== folder)
        .map(([name, owner]) => ({ name, message: `${name} belongs to ${owner} (DESIGN.md: library boundaries)` })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'certs/**', '.tap/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // A tap test body without an await is normal: tap ends it when it returns.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  { files: ['src/**/*.ts'], rules: restrictedFor('') },
  ...['src/cli', 'src/upstream', 'src/observe', 'src/kubeconfig'].map((folder) => ({
    files: [`${folder}/**/*.ts`],
    rules: restrictedFor(folder),
  })),
);
