// Lint: type-aware rules, and library boundaries so that each dependency lives in one folder
// (DESIGN.md §1): swapping a library is then a one-folder change.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Which folders of src/ may import each library. */
const owners = {
  yargs: ['src/cli'],
  undici: ['src/upstream'],
  pino: ['src/observe'],
  'prom-client': ['src/observe'],
  // Both read Kubernetes YAML documents: kubeconfig files and audit policies.
  yaml: ['src/kubeconfig', 'src/audit'],
  'node-forge': ['src/credentials/certificates'],
};

const restrictedFor = (folder) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: Object.entries(owners)
        .filter(([, folders]) => !folders.includes(folder))
        .map(([name, folders]) => ({ name, message: `${name} belongs to ${folders.join(' and ')} (DESIGN.md: library boundaries)` })),
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
  ...[...new Set(Object.values(owners).flat())].map((folder) => ({
    files: [`${folder}/**/*.ts`],
    rules: restrictedFor(folder),
  })),
);
